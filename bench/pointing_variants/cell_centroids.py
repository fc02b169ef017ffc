"Scratch (session 10, issue 19): input-gradient centroid of every diagonal cell (i, i) of each level of the demo probe's backbones, on the 32 val Clean images: how far border cells sit from stride * i + the middle cell's offset."
import sys, time
exec(open('bench/pointing_variants/occlusion.py').read().split("\nif __name__")[0])
x0, _ = GradCAMInterpretation.from_detector(det, clean).images.inputs(list(range(32)))
t = time.time()
for bi, b in enumerate(det.model.bodies):
    x = x0.clone().requires_grad_(True); maps = b.body(x)
    for k, f in enumerate(maps):
        n = f.shape[-1]; s = 160 // n
        if s < 16: continue
        row = []
        for i in range(n):
            g, = torch.autograd.grad(f[:, :, i, i].sum(), x, retain_graph=True); a = g.abs().sum((0, 1)).double(); ar = torch.arange(160, dtype=torch.float64)
            row.append(f"{float((a.sum(1) * ar).sum() / a.sum()) - s * i:+.1f}/{float((a.sum(0) * ar).sum() / a.sum()) - s * i:+.1f}")
        print('backbone', bi, 'stride', s, 'cell (i, i): centroid - s*i (y/x):', ' '.join(row), flush=True)
print(round(time.time() - t, 1), 's')
