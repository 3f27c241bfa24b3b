"""
Logistic and multinomial classification with a chosen strength
==============================================================

:class:`shrinkage.PenalizedClassifier` is a scikit-learn classifier: ``fit`` runs a
cross-validated lasso path (stratified folds; deviance as the CV metric) and keeps the
strongest ``lam`` within one standard error of the best. Two classes give a logistic
(binomial) model, more a softmax (multinomial) one, whose lasso penalty is *grouped* by
default: a feature is in the model for every class or for none (glmnet's
``type.multinomial="grouped"``).
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_wine
from sklearn.model_selection import train_test_split

import shrinkage
from shrinkage.datasets import load_breast_cancer
from shrinkage.plotting import plot_cv, plot_path

data = load_breast_cancer()
X_tr, X_te, y_tr, y_te = train_test_split(data.X, data.y, test_size=0.3, random_state=0,
                                          stratify=data.y)
clf = shrinkage.PenalizedClassifier(random_state=0).fit(X_tr, y_tr)
print(f"family {clf.family_}, lam_ = {clf.lam_:.4g}, "
      f"{np.count_nonzero(clf.coef_)} of {X_tr.shape[1]} features")
print(f"held-out accuracy {clf.score(X_te, y_te):.3f}")
print("P(class 1) for the first three held-out tumours:",
      np.round(clf.predict_proba(X_te[:3])[:, 1], 3))

# %%
# The fitted estimator keeps the full-data path (``path_``) and its CV (``cv_``), so the
# pictures need no refit. The features are measured in different units, so the path is
# drawn on the standardized scale the penalty acts on (``b_j * sd_j``):
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
plot_path(clf.path_, ax=ax1, cv=clf.cv_, feature_names=data.feature_names, n_labels=5,
          scale="standardized", feature_sd=X_tr.std(axis=0))
plot_cv(clf.cv_, ax=ax2)
fig.tight_layout()
plt.show()

# %%
# Three classes: the wine data (178 wines, 13 measurements). ``coef_`` has one row per
# class, as in scikit-learn's ``LogisticRegression``; with the grouped penalty a column is
# zero for all classes or for none.
wine = load_wine()
X_tr, X_te, y_tr, y_te = train_test_split(wine.data, wine.target, test_size=0.3,
                                          random_state=0, stratify=wine.target)
multi = shrinkage.PenalizedClassifier(random_state=0).fit(X_tr, y_tr)
used = np.any(multi.coef_ != 0, axis=0)
print(f"family {multi.family_}, coef_ shape {multi.coef_.shape}, lam_ = {multi.lam_:.4g}")
print(f"features used: {used.sum()} of 13:",
      ", ".join(np.asarray(wine.feature_names)[used]))
print(f"held-out accuracy {multi.score(X_te, y_te):.3f}")
