"""Does a screen trained on the model's own flags (distillation) pass less real traffic?

One-off experiment. Step 1 labels the screen's training texts (written + real train/dev, 4,000
background messages per pool source) with the shipped model (25 min on 2 cores, bf16); step 2
refits the shipped static screen on labels / model flags / either, each tuned to keep 98% of the
model's flags on real dev and written dev, and measures its pass rate on the pool's dev
communities (25,193 messages). Decided (soup model, 2026-12-07): no gain. Labels 22.0%,
model flags 23.0%, either 22.7%; by source the same shape (Enron 65%, kernel 70%). The mean of
static token vectors cannot separate long ordinary mail from long friction mail whatever it is
trained on; the next screen needs per-window or per-sentence features.

    python scripts/experiments/screen_distill.py teacher CACHE_DIR   # step 1
    python scripts/experiments/screen_distill.py screens CACHE_DIR   # step 2
"""
import sys

CACHE = sys.argv[2] if len(sys.argv) > 2 else "/tmp/screen_distill"
__import__("os").makedirs(CACHE, exist_ok=True)
if sys.argv[1] == "teacher":
    import sys, time
    import numpy as np, pandas as pd
    
    from friction.corpus import load_corpus
    from friction.realtext import DEFAULT_POOL, load_real_corpus, read_pool
    from friction.model.cascade import background
    from friction.model.pipeline import FrictionPipeline
    from friction.model.recipe import load_recipe
    
    recipe = load_recipe('models/default/recipe.yaml')
    written = load_corpus(recipe['written'])
    pool = read_pool(DEFAULT_POOL)
    real = load_real_corpus(recipe['real'], pool=pool)
    bg = background(pool, set(real['pointer']), 4000, 0)
    parts = []
    for name, df in [('written', written), ('real', real), ('background', bg.assign(split='train'))]:
        d = pd.DataFrame({'world': name, 'split': df['split'].to_numpy(), 'text': df['text'].to_numpy(),
                          'source': df['source'].to_numpy() if 'source' in df else 'written',
                          'friction': (df['label_list'].map(len) > 0).to_numpy() if 'label_list' in df else False})
        parts.append(d)
    d = pd.concat(parts, ignore_index=True)
    d = d[d.split.isin(['train', 'dev'])].reset_index(drop=True)
    model = FrictionPipeline.from_disk('models/default').classifier
    print(len(d), model.runtime if hasattr(model, 'runtime') else '', flush=True)
    t = time.time()
    out = []
    B = 512
    order = np.argsort(d.text.str.len().to_numpy())
    for i in range(0, len(d), B):
        idx = order[i:i + B]
        p = model.predict_proba(d.text.iloc[idx].tolist())
        out.append((idx, p))
        if i % (B * 10) == 0:
            print(i, round(time.time() - t), flush=True)
    P = np.zeros((len(d), len(model.label_ids)), np.float32)
    for idx, p in out:
        P[idx] = p
    thr = np.asarray(model.thresholds_)
    for j, l in enumerate(model.label_ids):
        d['p_' + l] = P[:, j]
    d.to_parquet(CACHE + '/teacher.parquet')
    print('done', round(time.time() - t))
    np.save(CACHE + '/teacher_thr.npy', thr)
else:
    import sys, copy
    import numpy as np, pandas as pd
    
    from friction.realtext import DEFAULT_POOL, read_pool
    from friction.model.pipeline import FrictionPipeline
    from friction.model.cascade import fit_screen, BACKGROUND_WEIGHT
    
    d = pd.read_parquet(CACHE + '/teacher.parquet')
    thr = np.load(CACHE + '/teacher_thr.npy')
    P = d[[c for c in d.columns if c.startswith('p_')]].to_numpy()
    d['flag'] = (P >= thr).any(axis=1)
    d['pmax'] = (P / thr).max(axis=1)
    pool = read_pool(DEFAULT_POOL)
    traffic = pool[pool.split == 'dev']
    base = FrictionPipeline.from_disk('models/default').screen
    tr = d[d.split == 'train']
    dev = {'real dev': d[(d.split == 'dev') & (d.world == 'real')], 'written dev': d[(d.split == 'dev') & (d.world == 'written')]}
    dev_sets = {k: (v.text.tolist(), v.flag.to_numpy()) for k, v in dev.items()}
    labelled = {k: v.friction.to_numpy() for k, v in dev.items()}
    print({k: (len(v), int(v.flag.sum()), int(v.friction.sum())) for k, v in dev.items()})
    print('train flags by world', tr.groupby('world').flag.mean().round(3).to_dict(), 'labels', tr.groupby('world').friction.mean().round(3).to_dict())
    
    def run(name, make, y, w):
        s = make()
        fit_screen(s, tr.text.tolist(), y, dev_sets, recall=0.98, sample_weight=w, labelled=labelled)
        keep = s.passes(traffic.text.tolist())
        by = pd.Series(keep).groupby(traffic.source.to_numpy()).mean().round(3).to_dict()
        t = s.tuning_
        print(f"{name}: thr {s.threshold_:.3f} traffic pass {keep.mean():.3f} realdev rec {t['real dev']['recall']} lab {t['real dev']['labelled_recall']} "
              f"writtendev rec {t['written dev']['recall']} lab {t['written dev']['labelled_recall']} {by}", flush=True)
        return s
    
    def static(C=10.0):
        def make():
            s = copy.copy(base); s.C = C
            return s
        return make
    
    w_lab = np.where(tr.world == 'background', BACKGROUND_WEIGHT, 1.0)
    ones = np.ones(len(tr))
    lab = tr.friction.to_numpy()
    flag = tr.flag.to_numpy()
    variants = sys.argv[3:] or ['labels', 'flags', 'union']
    if 'labels' in variants: run('labels (as shipped)', static(), lab, w_lab)
    if 'flags' in variants: run('model flags', static(), flag, ones)
    if 'union' in variants: run('labels or flags', static(), lab | flag, ones)
    if 'soft' in variants:
        for m in (0.5, 0.7):
            run(f'flags at {m} of threshold', static(), tr.pmax.to_numpy() >= m, ones)
    if 'C' in variants:
        for C in (1.0, 100.0):
            run(f'union C={C}', static(C), lab | flag, ones)
