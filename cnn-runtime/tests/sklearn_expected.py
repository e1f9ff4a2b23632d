import numpy as np, json
from sklearn.metrics import classification_report, confusion_matrix, precision_recall_fscore_support, accuracy_score
cases = {}
# A: basic, 3 named classes; class 0 precision is 5/8 (a rounding tie: 0.625 -> 0.62)
cases["basic"] = dict(
  y_true=[0,0,0,0,0,0,1,1,1,1,2,2,2,2,2,2],
  y_pred=[0,0,0,0,0,1,1,1,0,0,2,2,2,0,1,2],
  n=3, names=["cat","dog","bird"])
# B: class 3 never predicted
cases["never_predicted"] = dict(
  y_true=[0,1,2,3,3,0,1,2,0,1,3,2],
  y_pred=[0,1,2,0,1,0,2,2,0,1,2,2],
  n=4, names=["airplane","automobile","ship","truck"])
# C: class 2 absent from y_true (but predicted), class 3 absent from both; default names
cases["absent_from_true"] = dict(
  y_true=[0,0,1,1,1,0,1,0],
  y_pred=[0,2,1,1,2,0,0,0],
  n=4, names=None)
# D: 10 classes, one name longer than "weighted avg"
rng = np.random.default_rng(7)
yt = rng.integers(0,10,60)
yp = np.where(rng.random(60) < 0.6, yt, rng.integers(0,10,60))
cases["ten_classes_long_name"] = dict(
  y_true=yt.tolist(), y_pred=yp.tolist(), n=10,
  names=["zero","one","two","three","four","five","six","seven","eight","a_very_long_class_name"])
out = {}
for k, c in cases.items():
    labels = list(range(c["n"]))
    rep = classification_report(c["y_true"], c["y_pred"], labels=labels, target_names=c["names"], digits=2, zero_division=0)
    p, r, f, s = precision_recall_fscore_support(c["y_true"], c["y_pred"], labels=labels, zero_division=0)
    mp, mr, mf, _ = precision_recall_fscore_support(c["y_true"], c["y_pred"], labels=labels, zero_division=0, average="macro")
    wp, wr, wf, _ = precision_recall_fscore_support(c["y_true"], c["y_pred"], labels=labels, zero_division=0, average="weighted")
    cm = confusion_matrix(c["y_true"], c["y_pred"], labels=labels)
    print("=====", k)
    print("y_true", c["y_true"]); print("y_pred", c["y_pred"])
    print(repr(rep))
    print(rep)
    print("p", [float(x) for x in p]); print("r", [float(x) for x in r]); print("f", [float(x) for x in f]); print("s", s.tolist())
    print("macro", [float(mp), float(mr), float(mf)]); print("weighted", [float(wp), float(wr), float(wf)])
    print("acc", float(accuracy_score(c["y_true"], c["y_pred"])))
    print("cm", cm.tolist())
