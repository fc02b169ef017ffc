"Scratch (session 10, issue 19): the product map (GradCAMInterpretation.from_detector with the Clean reference) on a seed set. python bench/pointing_variants/product_check.py SEED"
import sys, time
exec(open('bench/pointing_variants/occlusion.py').read().split("if __name__")[0])
from artifact_fastai.interpret import pointing_game
from artifact_fastai.probe import cell_offsets
files, boxes = seed_set(int(sys.argv[1]))
x, _ = GradCAMInterpretation.from_detector(det, files[:8]).images.inputs(list(range(8)))
t = time.time(); off = cell_offsets(det.model, x); print('cell_offsets on 8 images', round(time.time() - t, 1), 's; mean over backbones (y, x) per level', off.mean(0).round(decimals=1).tolist())
t = time.time()
interp = GradCAMInterpretation.from_detector(det, files, reference=clean); interp.heatmaps()
print('maps of', len(files), 'images + 32 reference', round(time.time() - t, 1), 's')
res = [pointing_game(interp, boxes, tolerance=tol).hit.mean() for tol in (0, 8, 15)]
h = pointing_game(interp, boxes).hit.to_numpy(); k = boxes.kind.values
print('seed', sys.argv[1], ' / '.join(f'{r:.3f}' for r in res), '|', ' '.join(f'{q} {h[k == q].mean():.2f}' for q in sorted(set(k))))
