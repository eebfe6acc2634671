"""peer3.py - the PyTorch peer bench with three sides: torch, stock tfjs-wasm, adv2's engine.

Started by bench/peer/run.sh (`npm run bench:peer`) with the working copy of the peer folder as
first argument. It imports the peer's driver.py from that copy and reuses its workers, machine
facts, correctness checks, block sizing and profiler unchanged; what it adds:
  * a third worker, "adv2": the peer's tfjs_bench.mjs run by bench/peer/adv2-worker.ts, i.e. with
    adv2's kernels registered on the same tfjs;
  * the peer's correctness checks run on each tfjs side (torch's replies are computed once and
    reused), and a failure on either side fails the run;
  * timing rounds of [torch block, stock block, adv2 block] per workload, medians per side, ratios
    stock/torch ("before") and adv2/torch ("after");
  * the profile (tfjs kernels vs torch ops) of adv2's worst workloads.
Options: the driver's (--quick, --only NET[,NET], --no-checks, --no-profile, --rounds N),
--no-stock (torch and adv2 only) and --threads N (torch with N intra-op threads against adv2's
opt-in threaded wasm with N threads; implies --no-stock). Output: report on stdout, out/report3.md, out/results3.json in the
working copy; exit status 1 if a check fails.
"""
import argparse
import copy
import datetime
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORKER_TS = os.path.join(ROOT, "bench", "peer", "adv2-worker.ts")


def load_driver(peer_dir):
    spec = importlib.util.spec_from_file_location("peer_driver", os.path.join(peer_dir, "driver.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class Memo:
    """Caches torch's replies during the checks, so both tfjs sides are compared with the same references."""

    def __init__(self, w):
        self.w, self.cache = w, {}

    def call(self, **req):
        k = json.dumps(req, sort_keys=True)
        if k not in self.cache:
            self.cache[k] = self.w.call(**req)
        return copy.deepcopy(self.cache[k])     # driver.decode() pops fields from the reply


def time3(D, pt, sides, net, batch, kind, rounds, last_for_net):
    wid = f"{net}.{batch}.{kind}"
    workers = [("torch", pt)] + sides
    loads = [D.loadavg()]
    prep = {n: w.call(cmd="prepare", id=wid, net=net, batch=batch, kind=kind) for n, w in workers}
    reps = {n: D.reps_for(p["second_ms"]) for n, p in prep.items()}
    ms = {n: [] for n, _ in workers}
    util = {n: [] for n, _ in workers}
    leaked = {n: 0 for n, _ in sides}
    for _ in range(rounds):
        for n, w in workers:
            a = w.call(cmd="time", id=wid, reps=reps[n])
            ms[n].append(a["ms"])
            util[n].append(a["cpu_util"])
            if n in leaked:
                leaked[n] += a["leaked"]
        loads.append(D.loadavg())
    for _, w in workers:
        w.call(cmd="release", id=wid, net=net, dropNet=last_for_net)
    med = {n: statistics.median(v) for n, v in ms.items()}
    row = {"net": net, "batch": batch, "kind": kind, "ms": med, "rounds": ms, "reps": reps,
           "ratio": {n: med[n] / med["torch"] for n, _ in sides},
           "round_ratios": {n: [j / t for t, j in zip(ms["torch"], ms[n])] for n, _ in sides},
           "spread": {n: max(v) / min(v) - 1 for n, v in ms.items()},
           "cpu_util": {n: max(v) for n, v in util.items()}, "leaked": leaked,
           "first_call_ms": {n: p["first_ms"] for n, p in prep.items()}, "load": loads,
           "torch_ms": med["torch"]}
    parts = "  ".join(f"{n} {med[n]:9.1f} ms" for n, _ in workers)
    rats = "  ".join(f"{n}/torch {row['ratio'][n]:6.2f}" for n, _ in sides)
    D.log(f"  {net:16s} b{batch:<2d} {kind:9s} {parts}  {rats}  (load {max(loads):.2f})")
    return row


def geomean(D, xs):
    return D.geomean(xs) if xs else None


def groups(rows):
    """(label, predicate) of the summary columns"""
    return [("batch 1", lambda r: r["batch"] == 1 and r["net"] != "resnet50-224"),
            ("batch 16", lambda r: r["batch"] == 16),
            ("ResNet-50 (b1)", lambda r: r["net"] == "resnet50-224")]


def summary_md(D, rows, sides):
    gs = [(g, p) for g, p in groups(rows) if any(p(r) for r in rows)]
    head = "| workload | " + " | ".join(f"{s}/torch, {g}" for g, _ in gs for s in sides) + " |"
    L = [head, "|---|" + "---:|" * (len(gs) * len(sides))]
    f = lambda x: "-" if x is None else f"{x:.2f}"
    for k in D.SPEC["kinds"]:
        cells = []
        for _, p in gs:
            for s in sides:
                v = f(geomean(D, [r["ratio"][s] for r in rows if r["kind"] == k and p(r)]))
                cells.append(f"**{v}**" if s == "adv2" else v)
        L.append(f"| {D.LABEL[k]} | " + " | ".join(cells) + " |")
    cells = []
    for _, p in gs:
        for s in sides:
            v = f(geomean(D, [r["ratio"][s] for r in rows if p(r)]))
            cells.append(f"**{v}**" if s == "adv2" else v)
    L.append("| all four | " + " | ".join(cells) + " |")
    if "stock" in sides:
        L += ["", "Speed-up of adv2 over stock tfjs (geometric mean of stock ms / adv2 ms):", "",
              "| workload | " + " | ".join(g for g, _ in gs) + " |", "|---|" + "---:|" * len(gs)]
        for k in D.SPEC["kinds"]:
            L.append(f"| {D.LABEL[k]} | " + " | ".join(
                f(geomean(D, [r["ms"]["stock"] / r["ms"]["adv2"] for r in rows if r["kind"] == k and p(r)])) for _, p in gs) + " |")
    return "\n".join(L)


def table_md(D, rows, sides):
    fm = D.fmt_ms
    cols = ["network", "batch", "workload", "torch ms"] + [f"{s} ms" for s in sides]
    cols += [f"{s}/torch" for s in sides if s != "adv2"] + ["**adv2/torch**", "adv2 per-round", "spread " + "/".join(["torch"] + sides)]
    if "stock" in sides:
        cols.insert(len(cols) - 2, "stock/adv2")
    L = ["| " + " | ".join(cols) + " |", "|---|" + "---:|" + "---|" + "---:|" * (len(cols) - 3)]
    for r in rows:
        c = [r["net"], str(r["batch"]), D.LABEL[r["kind"]], fm(r["ms"]["torch"])] + [fm(r["ms"][s]) for s in sides]
        c += [f"{r['ratio'][s]:.2f}" for s in sides if s != "adv2"] + [f"**{r['ratio']['adv2']:.2f}**"]
        if "stock" in sides:
            c.append(f"{r['ms']['stock'] / r['ms']['adv2']:.1f}x")
        pr = r["round_ratios"]["adv2"]
        c += [f"{min(pr):.2f}-{max(pr):.2f}", "/".join(f"{100 * r['spread'][n]:.0f}%" for n in ["torch"] + sides)]
        L.append("| " + " | ".join(c) + " |")
    return "\n".join(L)


def profile_md(prof):
    L = []
    for key, pr in prof.items():
        L += [f"Workload **{key}** (one call each, ops sorted by self time):", ""]
        for side, label in (("tfjs", "adv2"), ("torch", "torch")):
            s = pr[side]
            ops = ", ".join(f"{o['op']} {o['ms']:.0f} ms/{o['calls']} calls ({100 * o['share']:.0f}%)" for o in s["top"])
            L.append(f"- {label} ({s['wall_ms']:.0f} ms wall, kernels {s['kernel_total_ms']:.0f} ms): {ops}")
        L.append("")
    return "\n".join(L)


def adv2_worker_info():
    """the JSON line adv2-worker.ts writes to its stderr log"""
    path = os.path.join(D.OUT, "adv2.stderr.log")
    with open(path) as fh:
        for line in fh:
            if line.startswith("adv2-worker: {"):
                return json.loads(line[len("adv2-worker: "):])
    return {}


def git_state():
    try:
        head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "src/engine"], capture_output=True, text=True).stdout.strip()
        return f"{head}{' + uncommitted changes in src/engine' if dirty else ''}"
    except OSError:
        return "?"


def render(r, sides):
    m, t = r["machine"], r["torch"]
    fmt_busy = lambda ps: ", ".join(f"{p['comm']} ({p['pcpu']:.0f}% of a core)" for p in ps) or "none"
    L = ["# PyTorch peer bench, three sides: torch / stock tfjs-wasm / adv2 engine", "",
         f"Run {r['started']} ({r['elapsed_s'] / 60:.1f} min), `{r['command']}`. Machine: {m.get('cpu', '?')}, "
         f"nproc {m['nproc']}, {m.get('mem_gib', '?')} GiB, Linux {m['kernel']}. 1-minute load average during the run: "
         f"min {r['load']['min']:.2f}, mean {r['load']['mean']:.2f}, max {r['load']['max']:.2f}. Other busy processes "
         f"(1 s sample): {fmt_busy(r['busy_processes_start'])} at start; {fmt_busy(r['busy_processes_end'])} at the end.", "",
         f"torch {t['torch']} (Python {t['python']}), {t['threads']} intra-op / {t['interop_threads']} inter-op thread, "
         f"BLAS: {t['blas']}, oneDNN: {t['mkldnn']}."]
    for s in sides:
        j = r["tfjs_info"][s]
        L.append(f"{s}: tfjs {j['tfjs']} backend {j['backend']} (SIMD {j['simd']}, threads {j['threads']}), Node {j['node']}.")
    a = r.get("adv2_worker", {})
    native = a.get("native") or {}
    native_text = (f"native convolutions: {native['config']}, {native['threads']} thread(s)" if "config" in native
                   else f"native convolutions off ({native.get('off', 'not reported')})")
    L += [f"adv2 kernels active on wasm: {', '.join(a.get('kernels', [])) or 'NONE'}; {native_text}; adv2 at {r['adv2_git']}.", "",
          f"Each time is the median over {r['rounds']} interleaved rounds (a torch block, then " +
          ("a stock-tfjs block, then an adv2 block" if "stock" in sides else "an adv2 block") +
          f", each about {r['spec']['block_target_s']:.1f} s or one call) of the mean ms per call in the block.", ""]
    if r.get("rows"):
        rows = r["rows"]
        L += ["## Ratios to torch, geometric means", "", summary_md(D, rows, sides), "",
              "## All workloads", "", table_md(D, rows, sides), ""]
        L.append("CPU time / wall per block, max: " + ", ".join(
            f"{n} {max(x['cpu_util'][n] for x in rows):.2f}" for n in ["torch"] + sides) +
            "; tensors leaked across calls: " + ", ".join(f"{s} {sum(x['leaked'][s] for x in rows)}" for s in sides) + ".")
        L.append("")
    if "checks" in r:
        L += [f"## Correctness checks (before timing): {'all pass' if r['checks_ok'] else 'FAILED'}", ""]
        for s in sides:
            c = r["checks"][s]
            L += [f"### {s} side: {'pass' if c['ok'] else 'FAILED'} (columns labelled tfjs are this side)", "",
                  D.checks_md(c["res"]), ""]
    if "profile" in r:
        L += ["## Profile of adv2's worst workloads", "", profile_md(r["profile"])]
    return "\n".join(L)


def proc_kib(pid, field):
    """a VmRSS/VmHWM-style field of /proc/<pid>/status, in KiB"""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/{pid}/status")


def measure_memory(start_worker, sides, nets, kinds):
    """Peak memory per side: a fresh worker per (net, batch, kind), its resident set at idle, then
    the peak resident set (VmHWM) over building the net and inputs and running the workload
    (prepare runs it twice). Peak minus idle is what the workload costs; weights and inputs are the
    same bytes on every side. Framework-agnostic: wasm's heap never shrinks and torch's allocator
    keeps blocks, so the high-water mark is the fair measure for both."""
    rows = []
    for net in nets:
        for batch in D.SPEC["batches"][net]:
            for kind in kinds:
                row = {"net": net, "batch": batch, "kind": kind}
                for side in sides:
                    w = start_worker(side)
                    try:
                        idle = proc_kib(w.p.pid, "VmRSS")
                        w.call(cmd="prepare", id="mem", net=net, batch=batch, kind=kind)
                        peak = proc_kib(w.p.pid, "VmHWM")
                        row[side] = {"idle_mib": idle / 1024, "peak_mib": peak / 1024, "workload_mib": (peak - idle) / 1024}
                    finally:
                        w.close()
                rows.append(row)
                D.log("  memory " + json.dumps(row))
    return rows


def memory_report(rows, sides):
    out = ["| net | batch | workload | " + " | ".join(f"{s} MiB (peak − idle)" for s in sides) + " | " +
           " | ".join(f"{s}/torch" for s in sides if s != "torch") + " |",
           "|---|---:|---|" + "---:|" * (len(sides) + len(sides) - 1)]
    for r in rows:
        vals = " | ".join(f"{r[s]['workload_mib']:.1f}" for s in sides)
        ratios = " | ".join(f"{r[s]['workload_mib'] / r['torch']['workload_mib']:.2f}" for s in sides if s != "torch")
        out.append(f"| {r['net']} | {r['batch']} | {r['kind']} | {vals} | {ratios} |")
    return "\n".join(out)


def main():
    global D
    peer_dir = os.path.abspath(sys.argv[1])
    D = load_driver(peer_dir)
    ap = argparse.ArgumentParser(prog="npm run bench:peer --")
    ap.add_argument("--quick", action="store_true", help="zoo nets only (no ResNet-50)")
    ap.add_argument("--only", default="", help="NET[,NET]")
    ap.add_argument("--no-checks", action="store_true")
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--no-stock", action="store_true", help="torch and adv2 only")
    ap.add_argument("--rounds", type=int, default=D.SPEC["rounds"])
    ap.add_argument("--memory", action="store_true",
                    help="peak memory instead of time: a fresh worker per workload, VmHWM − idle VmRSS (default workloads: grad)")
    ap.add_argument("--kinds", default="", help="KIND[,KIND] (default: all for timing, grad for --memory)")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch intra-op threads and adv2 wasm threads (N > 1 implies --no-stock: stock tfjs has 1 thread in Node)")
    args = ap.parse_args(sys.argv[2:])
    nets = D.SPEC["nets"]
    if args.quick:
        nets = [n for n in nets if n != "resnet50-224"]
    if args.only:
        nets = [n for n in nets if n in args.only.split(",")]
    sides = ["adv2"] if args.no_stock or args.threads > 1 else ["stock", "adv2"]
    t_start = time.time()

    py = os.environ.get("TORCH_PYTHON", sys.executable)
    nt = str(args.threads)
    tenv = dict(os.environ, OMP_NUM_THREADS=nt, MKL_NUM_THREADS=nt, OPENBLAS_NUM_THREADS=nt, PEER_THREADS=nt)
    blas_dir = os.path.join(D.HERE, ".deps", "openblas")
    if os.environ.get("TORCH_BLAS", "openblas") == "openblas" and os.path.exists(os.path.join(blas_dir, "libblas.so.3")):
        tenv["LD_LIBRARY_PATH"] = blas_dir + (":" + tenv["LD_LIBRARY_PATH"] if tenv.get("LD_LIBRARY_PATH") else "")
    node = os.environ.get("NODE", "node")
    jenv = {k: v for k, v in os.environ.items() if k not in ("ADV2_STOCK_KERNELS", "ADV2_BACKEND")}
    jenv["ADV2_PEER_THREADS"] = nt
    bench = os.path.join(D.HERE, "tfjs_bench.mjs")
    argv = {"stock": [node, bench], "adv2": [node, "--import", "tsx", WORKER_TS, bench]}
    busy0, load0 = D.busy_processes(), D.loadavg()
    D.log("starting workers ...")
    targv = [py, os.path.join(D.HERE, "torch_bench.py")]
    if args.threads > 1:
        targv = [py, os.path.join(ROOT, "bench", "peer", "torch-threads.py"), targv[1]]
    if args.memory:
        kinds = args.kinds.split(",") if args.kinds else ["grad"]
        msides = ["torch"] + sides
        start = lambda side: D.Worker(side, targv, tenv) if side == "torch" else D.Worker(side, argv[side], jenv)
        rows = measure_memory(start, msides, nets, kinds)
        table = memory_report(rows, msides)
        print(table)
        os.makedirs(D.OUT, exist_ok=True)
        with open(os.path.join(D.OUT, "memory3.json"), "w") as fh:
            json.dump({"rows": rows, "load": D.loadavg(), "threads": args.threads}, fh, indent=2)
        return 0
    pt = D.Worker("torch", targv, tenv)
    ws = []
    report = {"started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
              "command": "npm run bench:peer" + (" -- " + " ".join(sys.argv[2:]) if sys.argv[2:] else ""),
              "machine": D.machine_facts(), "load_start": load0, "busy_processes_start": busy0, "spec": D.SPEC,
              "rounds": args.rounds, "sides": sides, "adv2_git": git_state()}
    try:
        for s in sides:
            ws.append((s, D.Worker(s, argv[s], jenv)))
        report["adv2_worker"] = adv2_worker_info()
        report["torch"] = pt.call(cmd="info")
        report["tfjs_info"] = {s: w.call(cmd="info") for s, w in ws}
        pp = pt.call(cmd="params", nets=nets)
        for s, w in ws:
            pj = w.call(cmd="params", nets=nets)
            for n in nets:
                if pp[n] != pj[n]:
                    raise RuntimeError(f"parameter counts differ for {n}: torch {pp[n]} {s} {pj[n]}")
        report["params"] = pp
        D.log(f"torch {report['torch']['torch']} blas={report['torch']['blas']}; adv2 worker {report['adv2_worker']}")
        if not args.no_checks:
            memo = Memo(pt)
            report["checks"], report["checks_ok"] = {}, True
            for s, w in ws:
                D.log(f"checks, {s} side ...")
                res, ok = D.run_checks(w, memo, nets)
                report["checks"][s] = {"res": res, "ok": ok}
                report["checks_ok"] &= ok
            if not report["checks_ok"]:
                D.log("CHECKS FAILED - timings below are not trustworthy")
        D.log(f"timing (median of {args.rounds} interleaved rounds) ...")
        rows = []
        work = [(n, b, k) for n in nets for b in D.SPEC["batches"][n] for k in (args.kinds.split(",") if args.kinds else D.SPEC["kinds"])]
        for i, (n, b, k) in enumerate(work):
            last = i + 1 == len(work) or work[i + 1][0] != n
            rows.append(time3(D, pt, ws, n, b, k, args.rounds, last))
        report["rows"] = rows
        if not args.no_profile and rows:
            adv2 = dict(ws)["adv2"]
            worst = max(rows, key=lambda r: r["ratio"]["adv2"])
            cands = [worst]
            g = [r for r in rows if r["kind"] == "grad"]
            if g:
                wg = max(g, key=lambda r: r["ms"]["adv2"])
                if wg is not worst:
                    cands.append(wg)
            D.log("profiling (adv2) " + ", ".join(f"{r['net']} b{r['batch']} {r['kind']}" for r in cands) + " ...")
            report["profile"] = {f"{r['net']} b{r['batch']} {r['kind']}": D.profile(adv2, pt, r) for r in cands}
    finally:
        for _, w in ws:
            w.close()
        pt.close()
    loads = [report["load_start"]] + [x for r in report.get("rows", []) for x in r["load"]]
    report["load"] = {"min": min(loads), "max": max(loads), "mean": sum(loads) / len(loads)}
    report["busy_processes_end"] = D.busy_processes()
    report["elapsed_s"] = time.time() - t_start
    md = render(report, sides)
    os.makedirs(D.OUT, exist_ok=True)
    with open(os.path.join(D.OUT, "results3.json"), "w") as fh:
        json.dump(report, fh, indent=1)
    with open(os.path.join(D.OUT, "report3.md"), "w") as fh:
        fh.write(md)
    print(md)
    D.log(f"done in {report['elapsed_s'] / 60:.1f} min; wrote {os.path.relpath(D.OUT, ROOT)}/report3.md and results3.json")
    return 0 if report.get("checks_ok", True) else 1


if __name__ == "__main__":
    sys.exit(main())
