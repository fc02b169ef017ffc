"Scratch (session 10, issue 19): cache the product CAM's raw maps and its reference z-score for seed sets. python bench/pointing_variants/cam_cache.py SEED"
import sys, time, pickle
exec(open('bench/pointing_variants/occlusion.py').read().split("if __name__")[0])
from artifact_fastai.interpret import probe_reference, reference_score, REFERENCE_SD_FLOOR

s = sys.argv[1]
files, boxes = seed_set(int(s))
cache = work/f'cam_{s}.pkl'
if not cache.exists():
    t = time.time()
    ref = probe_reference(det, clean)
    interp = GradCAMInterpretation.from_detector(det, files)
    raw = interp.raw_probe_maps(list(range(len(files))))
    z = reference_score(raw, ref, REFERENCE_SD_FLOOR)
    pickle.dump(dict(files=files, boxes=boxes, raw=raw.half(), z=z, ref=ref, p=interp.prob_artifact), open(cache, 'wb'))
    print(s, 'cam computed', round(time.time() - t, 1), 's', flush=True)
