import sys, pickle, warnings; warnings.filterwarnings('ignore')
exec(open('bench/pointing_variants/zscore.py').read().split("lv = maps_of(L)")[0])
def shifted(M, use, levels=None):
    tot = 0
    for sh in use: tot = tot + translate(sum(maps_of(M, sh, levels))[:, None], -sh[0], -sh[1], 'replicate')[:, 0]
    return tot / len(use)
for use, nm in (([(0, 0)], '1 shift'), (shifts, '4 shifts')):
    for levels in (None, [1, 2, 3], [2, 3]):
        m, r = shifted(L, use, levels), shifted(R, use, levels)
        for f in (1.5, 2, 3, 4, 6):
            sd = r.std(0); evaluate(f'{nm} lv {levels} z floor {f}', (m - r.mean(0)) / sd.clamp_min(f * sd.median()))
