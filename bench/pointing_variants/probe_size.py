"Scratch (session 12, issue 19): the demo's probe alone on the synthetic demo set drawn at SIZE px (seed 0, n 600): test table and the demo-split pointing game; then `bench_synth.py --pointing /tmp/s12/modelsSIZE/feature_probe --data /tmp/s12/demoSIZE --cam-seed 1|2`. PYTHONPATH=$PWD .venv/bin/python bench/pointing_variants/probe_size.py SIZE"
import sys, time
from artifact_fastai.experiment import demo_data, probe_member, run_experiment
size = int(sys.argv[1])
t = time.perf_counter(); root = demo_data(f'/tmp/s12/demo{size}', n=600, size=size, seed=0); print(f'data {time.perf_counter() - t:.0f} s', flush=True)
res = run_experiment(root, [probe_member(size, 0, True, copies=())], out=f'/tmp/s12/rep{size}', models=f'/tmp/s12/models{size}', n_boot=100, quiet=False)
print(res.table.to_string()); print(res.pointing); print(res.times)
