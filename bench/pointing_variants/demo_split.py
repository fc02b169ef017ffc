"Scratch (session 10, issue 19): the demo's own test split (`experiment.pointing_score`, what the report prints) and the cost of the probe's share of the heatmap step. Run ONCE per code version: PYTHONPATH=<checkout> python bench/pointing_variants/demo_split.py MODEL_DIR DEMO_ROOT"
import sys, time, tempfile, warnings; warnings.filterwarnings('ignore')
from pathlib import Path
import torch
import artifact_fastai
from artifact_fastai.kinds import load_detector
from artifact_fastai.data import load_table
from artifact_fastai.experiment import pointing_score, clean_reference
from artifact_fastai.interpret import GradCAMInterpretation
print('package', artifact_fastai.__file__, 'threads', torch.get_num_threads())
det = load_detector(sys.argv[1]); table, _ = load_table(sys.argv[2], seed=0)
test = table[table.split == 'test']; rows = [*test[test.label == 0].path.head(6), *test[test.label == 1].path.head(2)]
files = [str(Path(table.attrs['root'])/p) for p in rows]
t = time.perf_counter()
interp = GradCAMInterpretation.from_detector(det, files, reference=clean_reference(det, table))
interp.save(Path(tempfile.mkdtemp())/'g')
t1 = time.perf_counter(); res = pointing_score(det, table); t2 = time.perf_counter()
print(f'grid (8 images + reference, saved) {t1 - t:.1f} s; pointing_score {t2 - t1:.1f} s')
print(res)
