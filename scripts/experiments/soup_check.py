"""Does a weight-averaged soup of seeds match their ensemble? (dev-selected recipe, train split).

One-off experiment. Decided: a weight soup of seeds keeps most of an ensemble's gain at one
model's cost (model card, "Recipes compared").
"""
import time


from friction.corpus import label_matrix, load_corpus
from friction.labels import DEFAULT_LABELS
from friction.model.classifier import FrictionClassifier
from friction.model.evaluation import score_model
from friction.model.training import train_on_splits

df = load_corpus("corpora/train")
dev, test = df[df.split == "dev"], df[df.split == "test"]
models = []
for seed in range(3):
    t0 = time.time()
    m, rep = train_on_splits(df, list(DEFAULT_LABELS), progress=False, seed=seed, epochs=6, lr=1.2e-4)
    t = score_model(m, test)
    print(f"seed{seed} dev {rep['dev']['macro_f1']:.3f} test {t['macro_f1']:.3f} fpr {t['fpr_none']:.3f} {time.time()-t0:.0f}s", flush=True)
    models.append(m)
soup = FrictionClassifier.soup(models).calibrate(dev["text"].tolist(), label_matrix(dev["label_list"], models[0].label_ids))
d, t = score_model(soup, dev), score_model(soup, test)
print(f"soup3 dev {d['macro_f1']:.3f} fpr {d['fpr_none']:.3f} | test {t['macro_f1']:.3f} fpr {t['fpr_none']:.3f} hn {t['fpr_hard_negative']:.3f} ece {t['ece']:.3f}")
for k in (2,):
    s2 = FrictionClassifier.soup(models[:k]).calibrate(dev["text"].tolist(), label_matrix(dev["label_list"], models[0].label_ids))
    d, t = score_model(s2, dev), score_model(s2, test)
    print(f"soup{k} dev {d['macro_f1']:.3f} | test {t['macro_f1']:.3f} fpr {t['fpr_none']:.3f}")
