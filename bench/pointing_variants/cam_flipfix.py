"Scratch (session 10, issue 19): the probe CAM with the mirrored view's cells placed on their own pixels (spread on the mirrored image, then the pixel map flipped). python bench/pointing_variants/cam_flipfix.py SEED|ref"
import sys, time, pickle
exec(open('bench/pointing_variants/occlusion.py').read().split("if __name__")[0])
from artifact_fastai.probe import score_weights, body_contributions, spread_cells

@torch.no_grad()
def view_maps(model, x, classes, offsets=None):
    "(unmirrored, mirrored) lists over levels of (N, H, W) pixel maps; each view spread on its own input."
    v, _ = score_weights(model, classes, 'logodds'); x = model.prepared(x); H, W = x.shape[-2:]
    ends = np.cumsum([b.n_features for b in model.bodies]); out = {False: None, True: None}
    for b, e in zip(model.bodies, ends):
        for mir in (False, True):
            xv = x.flip(-1) if mir else x
            cs = body_contributions(b, xv, v[:, e - b.n_features:e])
            lv = [spread_cells(c, (H, W), offsets[k] if offsets else 0.) for k, c in enumerate(cs)]
            lv = [c.flip(-1) if mir else c for c in lv]
            out[mir] = lv if out[mir] is None else [o + c for o, c in zip(out[mir], lv)]
    return out[False], out[True]

def maps_of(files, bs=16, **kw):
    interp = GradCAMInterpretation.from_detector(det, files); U, M = [], []
    for s in range(0, len(files), bs):
        x, _ = interp.images.inputs(list(range(s, min(s + bs, len(files)))))
        u, m = view_maps(det.model, x, [ARTIFACT] * len(x), **kw); U.append(torch.stack(u, 1)); M.append(torch.stack(m, 1))
    return torch.cat(U), torch.cat(M), interp.prob_artifact  # (N, levels, H, W) each

if __name__ == '__main__':
    s = sys.argv[1]
    files, boxes = seed_set('ref' if s == 'ref' else int(s))
    OFFS = eval(os.environ['OFFS']) if 'OFFS' in os.environ else None
    tag = os.environ.get('TAG', '')
    cache = work/f'camview{tag}_{s}.pkl'
    if not cache.exists():
        t = time.time(); U, M, p = maps_of(files, offsets=OFFS)
        pickle.dump(dict(files=files, boxes=boxes, U=U.half(), M=M.half(), p=p), open(cache, 'wb'))
        print(s, 'views computed', round(time.time() - t, 1), 's', flush=True)
