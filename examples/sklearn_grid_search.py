"""Hyperparameter search with scikit-learn: ``GridSearchCV`` over a
``Pipeline(StandardScaler, fastmlp.sklearn.MLPClassifier)`` on the bundled digits data.

``fastmlp.sklearn.MLPClassifier`` takes scikit-learn's ``MLPClassifier`` parameters
(``hidden_layer_sizes``, ``activation``, ``alpha``, ``learning_rate_init``, ``max_iter``,
``early_stopping``, ``random_state``, ...) and trains in fastmlp's C++ core, so it drops into
pipelines, grid searches and ``cross_val_score`` unchanged. The scaler is refitted inside each
cross-validation fold (no leakage); the best pipeline is refitted on the whole training split and
scored on the test split.

Run from the repository root (needs scikit-learn):

    python examples/sklearn_grid_search.py [--seed 0]

It prints the grid's mean cross-validated accuracies, the best parameters and
"test accuracy: 0.9xxx" as its last line.
"""

from __future__ import annotations

import argparse
import time
import warnings
from typing import List, Optional

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from fastmlp.sklearn import MLPClassifier


def main(argv: Optional[List[str]] = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=args.seed)

    pipeline = Pipeline([
        ("scale", StandardScaler()),
        ("mlp", MLPClassifier(max_iter=60, random_state=args.seed)),
    ])
    grid = {
        "mlp__hidden_layer_sizes": [(32,), (128,)],
        "mlp__alpha": [1e-4, 1e-1],
        "mlp__learning_rate_init": [1e-3, 1e-2],
    }
    search = GridSearchCV(pipeline, grid, cv=3, scoring="accuracy", n_jobs=1)
    start = time.perf_counter()
    with warnings.catch_warnings():
        # A candidate stopping at max_iter before its loss settles warns, as scikit-learn's own MLP does.
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X_train, y_train)
    seconds = time.perf_counter() - start

    results = search.cv_results_
    print(f"{len(results['params'])} candidates x 3 folds (+ 1 refit) in {seconds:.1f} s")
    for params, mean, std in zip(results["params"], results["mean_test_score"], results["std_test_score"]):
        shown = ", ".join(f"{k.removeprefix('mlp__')}={v}"
                          for k, v in params.items())
        print(f"  {shown}: {mean:.4f} ± {std:.4f}")
    print(f"best parameters: {search.best_params_}")
    print(f"best cross-validated accuracy: {search.best_score_:.4f}")
    accuracy = float(search.score(X_test, y_test))
    print(f"test accuracy: {accuracy:.4f}")
    return accuracy


if __name__ == "__main__":
    main()
