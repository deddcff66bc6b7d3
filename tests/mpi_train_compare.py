#!/usr/bin/env python3
"""Data-parallel training under mpirun against one process (ctest, MPI builds only).

Trains the same model, data, seed and global batch three ways:
  one   `vaecl train` in one process on OpenCL (PoCL);
  mpi   `mpirun -np N vaecl train` on the same device, each rank taking its shard;
  exact `vaecl --backend cpu train`, one process on the plain-C backend (float storage,
        double accumulation: each GEMM output rounded once).
and checks that mpi matches one. The two OpenCL runs differ only in summation order:
the shards' gradients are summed separately on each rank and then added (the same
float32 arithmetic in another order), so they are not bit-identical. The float32
rounding of the GEMMs is measured by E = how far `one` lies from `exact`; `mpi` rounds
in the same way (plus one addition per gradient), so both lie within about E of the
exact training and, by the triangle inequality, within 2E of each other: the test
allows 2E, per checkpoint value (weights and Adam moments) and per epoch figure (plus
the 0.0001 of the printed figures). A wrong shard, noise drawn at the wrong index,
a missing sum or a wrong scale moves the weights by learning-rate steps (1e-3), far
beyond 2E (about 1e-6).

With --mixed, rank 0 runs on the plain-C backend and the others on OpenCL (mpirun's
MPMD form): ranks on different kinds of device, whose Adam updates round differently,
so vaecl must find after each epoch that their weights differ and copy rank 0's to
all (it says so); the comparison with `one` still holds.

With --resume, also trains one process for the first epoch and resumes its checkpoint
under mpirun for the rest: --resume works for any number of ranks, and the result
matches `one` within 2E as well.

Also checks that rank 0 alone prints the epoch lines, and (with --ordered) that the
rank-ordered sum (VAECL_MPI_REDUCE=ordered) gives the same bits as MPI_Allreduce for
two ranks (a + b is commutative) and reports how many values match `one` bit for bit.
Exit 0 on success, 1 on a failed check, 77 (skipped) without numpy.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import numpy as np
    from safetensors_read import read_safetensors
except ImportError:  # pragma: no cover
    print("mpi_train_compare.py: numpy is not installed (Debian: python3-numpy); skipping")
    sys.exit(77)

EPOCH = re.compile(r"^(\d+)/(\d+) - .* - loss: ([-\d.]+) - reconstruction_loss: ([-\d.]+)"
                   r" - kl_loss: ([-\d.]+)$")


def run(cmd, env):
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=600)
    if p.returncode != 0:
        print(p.stdout)
        raise SystemExit("FAILED (exit %d): %s" % (p.returncode, " ".join(cmd)))
    return p.stdout


def epochs(out):
    return [tuple(float(x) for x in m.groups()[2:]) for m in
            (EPOCH.match(line) for line in out.splitlines()) if m]


def values(path):
    _, tensors, _ = read_safetensors(path)
    return {name: a.astype(np.float64) for name, a in tensors}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vaecl", required=True)
    ap.add_argument("--mpirun", required=True)
    ap.add_argument("--np", type=int, default=2)
    ap.add_argument("--ordered", action="store_true")
    ap.add_argument("--mixed", action="store_true")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("train_args", nargs="*")
    a = ap.parse_args()
    env = dict(os.environ, OMPI_MCA_btl_vader_single_copy_mechanism="none")
    base = [a.mpirun, "--oversubscribe"]
    if os.geteuid() == 0:  # CI runs as root; Open MPI refuses that unless told
        base.append("--allow-run-as-root")
    for var in ("POCL_CACHE_DIR", "VAECL_CACHE_DIR", "OMPI_MCA_btl_vader_single_copy_mechanism"):
        if var in env:
            base += ["-x", var]
    mpirun = base + ["-np", str(a.np)]
    with tempfile.TemporaryDirectory() as tmp:
        def train(prefix, name, extra_env=None):
            e = dict(env, **(extra_env or {}))
            out = run(prefix + a.train_args + ["--no-plots", "--out",
                                               os.path.join(tmp, name)], e)
            return out, values(os.path.join(tmp, name))

        one_out, one = train([a.vaecl, "--device", "0", "train"], "one.ckpt")
        exact_out, exact = train([a.vaecl, "--backend", "cpu", "train"], "exact.ckpt")
        failed = []
        if a.mixed:  # rank 0 on the plain-C backend, the others on OpenCL
            out = os.path.join(tmp, "mpi.ckpt")
            args = ["train"] + a.train_args + ["--no-plots", "--out", out]
            cmd = (base + ["-np", "1", a.vaecl, "--backend", "cpu"] + args + [":"] +
                   ["-np", str(a.np - 1), a.vaecl, "--device", "0"] + args)
            mpi_out, mpi = run(cmd, env), values(out)
            if "weights differed after %d epochs" % len(epochs(mpi_out)) not in mpi_out:
                failed.append("ranks on different backends: no weight copy reported")
        else:
            mpi_out, mpi = train(mpirun + [a.vaecl, "--device", "0", "train"], "mpi.ckpt")
        e1, ee, em = epochs(one_out), epochs(exact_out), epochs(mpi_out)
        if len(em) != len(e1) or not e1:
            failed.append("mpirun printed %d epoch lines, one process %d (rank 0 alone prints)"
                          % (len(em), len(e1)))
        for i, (x, y, z) in enumerate(zip(e1, em, ee)):
            for k, what in enumerate(("loss", "reconstruction_loss", "kl_loss")):
                # each printed figure is within 5e-5 of its value: 2 * 5e-5 on |x - y| and
                # 2 * 2 * 5e-5 on 2|x - z|
                tol = 2 * abs(x[k] - z[k]) + 3e-4
                ok = abs(x[k] - y[k]) <= tol
                print("epoch %d %-19s one %.4f mpi %.4f exact %.4f: |diff| %.4f <= %.4f %s"
                      % (i + 1, what, x[k], y[k], z[k], abs(x[k] - y[k]), tol,
                         "ok" if ok else "FAIL"))
                if not ok:
                    failed.append("epoch %d %s" % (i + 1, what))
        E = max(np.max(np.abs(one[n] - exact[n])) for n in one)
        D = max(np.max(np.abs(one[n] - mpi[n])) for n in one)
        same = sum(int(np.sum(one[n] == mpi[n])) for n in one)
        total = sum(one[n].size for n in one)
        print("checkpoint: max |one - exact| = E = %.3g; max |one - mpi| = %.3g (allowed 2E); "
              "%d of %d values bit-identical" % (E, D, same, total))
        # E is float32 rounding of the GEMMs (about 1e-6 here); a larger E would mean the
        # reference itself drifted and would let any mpi result pass.
        if not E < 1e-4:
            failed.append("weights: max |one - exact| = E = %.3g, not float rounding" % E)
        if not D <= 2 * E:
            failed.append("weights: max |one - mpi| %.3g > 2E = %.3g" % (D, 2 * E))
        if a.resume:
            half = os.path.join(tmp, "half.ckpt")
            run([a.vaecl, "--device", "0", "train"] + a.train_args +
                ["--epochs", "1", "--no-plots", "--out", half], env)
            rest = []  # a resumed run takes its model from the checkpoint
            args = iter(a.train_args)
            for arg in args:
                if arg == "--model":
                    next(args)
                else:
                    rest.append(arg)
            out = os.path.join(tmp, "resumed.ckpt")
            run(mpirun + [a.vaecl, "--device", "0", "train", "--resume", half] + rest +
                ["--no-plots", "--out", out], env)
            resumed = values(out)
            R = max(np.max(np.abs(one[n] - resumed[n])) for n in one)
            print("one epoch in one process, the rest under mpirun: max |one - resumed| = %.3g "
                  "(allowed 2E)" % R)
            if not R <= 2 * E:
                failed.append("resumed under mpirun: max |one - resumed| %.3g > 2E" % R)
        if a.ordered:
            _, ordered = train(mpirun + ["-x", "VAECL_MPI_REDUCE", a.vaecl, "--device", "0",
                                         "train"], "ordered.ckpt", {"VAECL_MPI_REDUCE": "ordered"})
            same_o = sum(int(np.sum(one[n] == ordered[n])) for n in one)
            diff_m = sum(int(np.sum(mpi[n] != ordered[n])) for n in one)
            print("rank-ordered sum: %d of %d values bit-identical to one process; %d differ "
                  "from MPI_Allreduce's" % (same_o, total, diff_m))
            if a.np == 2 and diff_m:
                failed.append("two ranks: the rank-ordered sum and MPI_Allreduce differ")
        if failed:
            print("FAILED: " + "; ".join(failed))
            return 1
        print("ok")
        return 0


if __name__ == "__main__":
    sys.exit(main())
