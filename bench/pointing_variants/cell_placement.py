"Scratch (session 10, issue 19): place every cell of strides 16 and 32 at its own input-gradient centroid (border cells' receptive fields are clipped, so their centres lie inward). python bench/pointing_variants/cell_placement.py"
import sys, time, pickle
exec(open('bench/pointing_variants/occlusion.py').read().split("\nif __name__")[0])
exec(open('bench/pointing_variants/occ_eval.py').read().split('\nif __name__')[0])
from artifact_fastai.probe import view_contributions, cell_offsets, spread_cells
from artifact_fastai.interpret import reference_score, probe_offsets

def diagonal_centroids(body, x, levels=(2, 3)):
    "{level: (cy (n,), cx (n,))} pixel centres of the cells of `levels` (input-gradient centroid of cell (i, i))."
    x = x.clone().requires_grad_(True); maps = body(x); out = {}; ar = torch.arange(x.shape[-1], dtype=torch.float64)
    for k in levels:
        f = maps[k]; n = f.shape[-1]; cy, cx = [], []
        for i in range(n):
            g, = torch.autograd.grad(f[:, :, i, i].sum(), x, retain_graph=True); a = g.abs().sum((0, 1)).double()
            cy.append(float((a.sum(1) * ar).sum() / a.sum())); cx.append(float((a.sum(0) * ar).sum() / a.sum()))
        out[k] = (torch.tensor(cy), torch.tensor(cx))
    return out

def spread_at(cells, size, cy, cx):
    "Cells (N, h, w) as a density (N, H, W), cell (i, j) centred on pixel (cy[i], cx[j]) (piecewise linear between centres)."
    (h, w), (H, W) = cells.shape[-2:], size
    uy = torch.tensor(np.interp(np.arange(H), cy.numpy(), np.arange(h)), dtype=torch.float32)
    ux = torch.tensor(np.interp(np.arange(W), cx.numpy(), np.arange(w)), dtype=torch.float32)
    gy, gx = 2 * uy / max(h - 1, 1) - 1, 2 * ux / max(w - 1, 1) - 1
    grid = torch.stack(torch.meshgrid(gx, gy, indexing='xy'), -1).expand(len(cells), H, W, 2)
    return F.grid_sample(cells[:, None].float(), grid, mode='bilinear', padding_mode='border', align_corners=True)[:, 0] * (h * w) / (H * W)

def cam(x, offs, cents):
    out = 0.
    for i, mir, parts in view_contributions(det.model, x, [ARTIFACT] * len(x)):
        m = sum(spread_at(p, (160, 160), *cents[i][k]) if cents is not None and k in cents[i] else spread_cells(p, (160, 160), tuple(offs[i, k].tolist()))
                for k, p in enumerate(parts))
        out = out + (m.flip(-1) if mir else m)
    return out

ref_imgs = GradCAMInterpretation.from_detector(det, clean).images
xr, _ = ref_imgs.inputs(list(range(32)))
offs = probe_offsets(det.model, ref_imgs)
t = time.time(); cents = [diagonal_centroids(b.body, xr) for b in det.model.bodies]; print('centroids', round(time.time() - t, 1), 's')
def maps(files, cents):
    src = GradCAMInterpretation.from_detector(det, files).images
    return torch.cat([cam(src.inputs(list(range(s, min(s + 16, len(files)))))[0], offs, cents) for s in range(0, len(files), 16)])
for variant, cc in (('middle-cell offsets (product)', None), ('strides 16+32 at each cell centroid', cents),
                    ('stride 32 at each cell centroid', [{3: c[3]} for c in cents])):
    R = maps(clean, cc); ref = torch.stack([R.mean(0), R.std(0)])
    for s in (1, 2):
        files, boxes = seed_set(s)
        line(f'seed {s} {variant}', reference_score(maps(files, cc), ref, 2.0), boxes)
