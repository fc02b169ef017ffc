"Scratch (session 10, issue 19): post-processing of the flip-fixed, offset CAM (caches of cam_flipfix.py with TAG=_off). python bench/pointing_variants/smooth_eval.py SEED"
import sys, pickle
exec(open('bench/pointing_variants/occ_eval.py').read().split('if __name__')[0])
from artifact_fastai.interpret import reference_score
from torchvision.transforms.functional import gaussian_blur
s = sys.argv[1]
c = pickle.load(open(work/f'camview_off_{s}.pkl', 'rb')); r = pickle.load(open(work/'camview_off_ref.pkl', 'rb')); b = c['boxes']
raw = (0.5 * c['U'] + 0.5 * c['M']).float().sum(1); rr = (0.5 * r['U'] + 0.5 * r['M']).float().sum(1)
ref = torch.stack([rr.mean(0), rr.std(0)])
z = reference_score(raw, ref, 2.0); print('seed', s)
line('offset CAM z floor 2', z, b)
blur = lambda m, sg: gaussian_blur(m[:, None], [2 * int(3 * sg) + 1] * 2, [sg, sg])[:, 0]
for sg in (2, 4, 8): line(f'  z then Gaussian sigma {sg}', blur(z, sg), b)
for sg in (2, 4): line(f'  raw and reference maps smoothed sigma {sg}, then z', reference_score(blur(raw, sg), torch.stack([blur(rr, sg).mean(0), blur(rr, sg).std(0)]), 2.0), b)
line('  relu(z) squared then sigma 4', blur(z.clamp_min(0) ** 2, 4), b)
