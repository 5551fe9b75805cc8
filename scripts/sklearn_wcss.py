"""Reference within-cluster sum of squares from scikit-learn, for docs/benchmarks.md.

Usage: python3 scripts/sklearn_wcss.py FILE.csv --features f1,f2 --k 8 [--consent consent]

Standardises the features as the cluster does (population mean and standard deviation over
the consenting records), runs KMeans with k-means++ and 10 initialisations, and prints the
inertia (the WCSS in standardised units). Not part of the build or the tests.
"""

import argparse
import csv

import numpy as np
from sklearn.cluster import KMeans


def main():
    p = argparse.ArgumentParser()
    p.add_argument("files", nargs="+")
    p.add_argument("--features", required=True)
    p.add_argument("--k", type=int, required=True)
    p.add_argument("--consent")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    names = a.features.split(",")
    rows = []
    for f in a.files:
        with open(f, newline="") as h:
            for r in csv.DictReader(h):
                if a.consent and r[a.consent].strip().lower() not in ("yes", "y", "true", "1"):
                    continue
                rows.append([float(r[n]) for n in names])
    x = np.array(rows)
    std = x.std(axis=0)
    # A constant feature standardises to 0, as in the job.
    z = np.divide(x - x.mean(axis=0), std, out=np.zeros_like(x), where=std > 0)
    km = KMeans(n_clusters=a.k, init="k-means++", n_init=10, random_state=a.seed).fit(z)
    print(f"records {len(rows)} k {a.k} sklearn_wcss {km.inertia_:.4f} iterations {km.n_iter_}")


if __name__ == "__main__":
    main()
