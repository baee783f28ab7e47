"""Retrieval speed and memory: agentgym's BM25Index against rank-bm25 and SQLite FTS5.

The corpus is the search family's generated encyclopedia (``envs.search.corpus.build_corpus``,
cached under ``--cache-dir``) and the queries are its questions (``generate_questions`` over the
same world, all kinds, seed 1), as an agent would type them. Every contender runs in a fresh
subprocess, one after the other, so each peak RSS (``VmHWM``) is that contender's alone:

* ours (``agentgym.retrieval.bm25.BM25Index``): build time, index size on disk (document store,
  bm25s arrays, manifest), then a fresh process that loads the index (memory-mapped) and serves
  every query: ``search(q, k)`` one at a time (full hits: title and snippet), ``search_many`` on
  the whole batch, and the ranking alone (``top_k``: ids and scores, what the others return);
* rank-bm25 (``BM25Okapi``, k1 1.5, b 0.75 as ours, on exactly our tokens): build in memory,
  then ``get_scores`` + ``argpartition`` for the top k, time-boxed (``--rank-bm25-queries`` or
  ``--rank-bm25-seconds``, whichever ends first); skipped above ``--rank-bm25-max-docs`` (its
  per-document dicts take several GB and its queries scan every document in Python);
* SQLite FTS5 (stdlib ``sqlite3``, ``unicode61`` tokenizer, text stored): ``SELECT doc_id
  FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT k`` with our query tokens OR-joined,
  time-boxed by ``--fts5-seconds``.

Agreement: the share of queries whose top-1 document is the same as ours, and the mean overlap
of the top-k sets, over the queries both answered. rank-bm25's Okapi idf is
``ln((N - df + 0.5) / (df + 0.5))`` (floored at 0.25 x the mean idf when negative) where ours is
Lucene's ``ln(1 + (N - df + 0.5) / (df + 0.5))``: the same function up to that idf, so rankings
agree except where very common words weigh in. FTS5 uses its own tokens (stop words kept) and
k1 1.2, so its agreement is only indicative.

Targets (issue 12): ours >= 20x rank-bm25's queries/s; a 1M-document index served in < 2 GB.
Timings on a shared 2-core machine are noisy: the load average is recorded.

    python benchmarks/bench_retrieval.py --sizes 100000 1000000 --queries 500 \\
        --cache-dir /tmp/agentgym-bench-cache
    python benchmarks/bench_retrieval.py --quick      # a smoke run on a tiny corpus
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any
from bench_cli import ShowDefaults, integer_between, output_folder

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

QPS_TARGET_VS_RANK_BM25 = 20.0
RSS_TARGET_MB = 2048.0


def peak_rss_mb() -> float:
    """This process's peak resident set size: ``VmHWM`` (Linux), which starts afresh at exec;
    ``ru_maxrss`` would carry over the parent's peak into a child (Linux keeps it across exec)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def tree_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def open_corpus(spec: dict):
    from agentgym.envs.search.corpus import build_corpus
    return build_corpus(spec["size"], spec["seed"], spec["cache_dir"])


def latency_summary(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {"qps": len(ordered) / sum(ordered) if sum(ordered) else float("inf"),
            "p50_ms": 1000 * ordered[len(ordered) // 2],
            "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
            "queries": len(ordered)}


# -- workers (each runs in its own process) ---------------------------------------------------
def worker_ours_build(spec: dict) -> dict:
    from agentgym.retrieval.bm25 import BM25Index
    target = Path(spec["index"])
    shutil.rmtree(target, ignore_errors=True)
    corpus = open_corpus(spec)
    started = time.perf_counter()
    BM25Index.build(corpus.iter_documents(), target).close()
    return {"build_s": time.perf_counter() - started, "disk_bytes": tree_bytes(target),
            "peak_rss_mb": peak_rss_mb()}


def worker_ours_serve(spec: dict) -> dict:
    import numpy as np
    from agentgym.retrieval.bm25 import BM25Index, top_k
    queries, k = json.loads(Path(spec["queries_file"]).read_text()), spec["k"]
    rss_before = peak_rss_mb()
    started = time.perf_counter()
    index = BM25Index.load(spec["index"])
    load_s = time.perf_counter() - started
    with index:
        first = time.perf_counter()
        index.search(queries[0], k)
        first_query_ms = 1000 * (time.perf_counter() - first)
        one_by_one, ranked = [], []
        for q in queries:
            t = time.perf_counter()
            hits = index.search(q, k)
            one_by_one.append(time.perf_counter() - t)
            ranked.append([h.doc_id for h in hits])
        t = time.perf_counter()
        batch = index.search_many(queries, k)
        batch_s = time.perf_counter() - t
        assert [[h.doc_id for h in hits] for hits in batch] == ranked
        terms = [index._term_ids(q) for q in queries]
        ranking_only = []
        for q_terms in terms:
            t = time.perf_counter()
            top_k(index._postings, q_terms, k)
            ranking_only.append(time.perf_counter() - t)
        Path(spec["ranks_file"]).write_text(json.dumps(ranked))
        return {"load_s": load_s, "first_query_ms": first_query_ms,
                "search": latency_summary(one_by_one),
                "search_many": {"qps": len(queries) / batch_s, "queries": len(queries)},
                "ranking_only": latency_summary(ranking_only),
                "empty_queries": sum(1 for r in ranked if not r),
                "rss_after_imports_mb": rss_before, "peak_rss_mb": peak_rss_mb(),
                "numpy": np.__version__}


def worker_rank_bm25(spec: dict) -> dict:
    import numpy as np
    from rank_bm25 import BM25Okapi
    from agentgym.retrieval.snippets import tokenize
    queries, k = json.loads(Path(spec["queries_file"]).read_text()), spec["k"]
    corpus = open_corpus(spec)
    started = time.perf_counter()
    ids, tokens = [], []
    for doc in corpus.iter_documents():
        ids.append(doc["id"])
        tokens.append(tokenize(doc["title"] + "\n" + doc["text"]))
    model = BM25Okapi(tokens, k1=1.5, b=0.75)
    del tokens
    build_s = time.perf_counter() - started
    seconds, ranked = [], []
    deadline = time.perf_counter() + spec["seconds"]
    for q in queries[:spec["max_queries"]]:
        if time.perf_counter() > deadline:
            break
        t = time.perf_counter()
        scores = model.get_scores(tokenize(q))
        top = np.argpartition(-scores, k)[:k] if len(scores) > k else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        top = [int(i) for i in top if scores[i] > 0]
        seconds.append(time.perf_counter() - t)
        ranked.append([ids[i] for i in top])
    Path(spec["ranks_file"]).write_text(json.dumps(ranked))
    return {"build_s": build_s, "disk_bytes": None, "search": latency_summary(seconds),
            "peak_rss_mb": peak_rss_mb(), "time_boxed": len(seconds) < len(queries)}


def fts5_match(query: str) -> str:
    from agentgym.retrieval.snippets import tokenize
    return " OR ".join(f'"{t}"' for t in dict.fromkeys(tokenize(query)))


def worker_fts5_build(spec: dict) -> dict:
    target = Path(spec["index"])
    target.unlink(missing_ok=True)
    corpus = open_corpus(spec)
    started = time.perf_counter()
    db = sqlite3.connect(target)
    try:
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("CREATE VIRTUAL TABLE docs USING fts5(doc_id UNINDEXED, title, text)")
        with db:
            db.executemany("INSERT INTO docs(doc_id, title, text) VALUES (?, ?, ?)",
                           ((d["id"], d["title"], d["text"]) for d in corpus.iter_documents()))
        with db:
            db.execute("INSERT INTO docs(docs) VALUES ('optimize')")
    finally:
        db.close()
    return {"build_s": time.perf_counter() - started, "disk_bytes": tree_bytes(target),
            "peak_rss_mb": peak_rss_mb(), "sqlite": sqlite3.sqlite_version}


def worker_fts5_serve(spec: dict) -> dict:
    queries, k = json.loads(Path(spec["queries_file"]).read_text()), spec["k"]
    db = sqlite3.connect(f"file:{spec['index']}?mode=ro", uri=True)
    try:
        sql = "SELECT doc_id FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT ?"
        seconds, ranked = [], []
        deadline = time.perf_counter() + spec["seconds"]
        for q in queries:
            if time.perf_counter() > deadline:
                break
            match = fts5_match(q)
            t = time.perf_counter()
            rows = db.execute(sql, (match, k)).fetchall() if match else []
            seconds.append(time.perf_counter() - t)
            ranked.append([r[0] for r in rows])
    finally:
        db.close()
    Path(spec["ranks_file"]).write_text(json.dumps(ranked))
    return {"search": latency_summary(seconds), "peak_rss_mb": peak_rss_mb(),
            "time_boxed": len(seconds) < len(queries)}


WORKERS = {"ours_build": worker_ours_build, "ours_serve": worker_ours_serve,
           "rank_bm25": worker_rank_bm25, "fts5_build": worker_fts5_build,
           "fts5_serve": worker_fts5_serve}


def run_worker(name: str, spec: dict, timeout: float) -> dict:
    """Run one worker in a fresh interpreter; its last stdout line is its JSON result. A
    RuntimeError names the worker when it fails or runs past ``timeout`` (--worker-timeout) s."""
    try:
        proc = subprocess.run([sys.executable, __file__, "--worker", name, "--spec", json.dumps(spec)],
                              capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:  # run() has killed it
        raise RuntimeError(f"worker {name} did not finish within {timeout:g} s (--worker-timeout)") from None
    if proc.returncode != 0:
        raise RuntimeError(f"worker {name} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def corpus_size(text: str) -> int:
    """--sizes: a document count the search world can have (imported here, not at the top: a
    worker's memory after its imports is a measured figure)."""
    from agentgym.envs.search.world import MIN_SIZE, NAME_SPACE

    return integer_between(MIN_SIZE, NAME_SPACE)(text)


# -- the driver ---------------------------------------------------------------------------------
def agreement(ours: list[list[str]], other: list[list[str]], k: int) -> dict[str, Any]:
    pairs = [(a, b) for a, b in zip(ours, other) if a and b]
    if not pairs:
        return {"compared": 0, "top1": None, "overlap_at_k": None}
    top1 = sum(a[0] == b[0] for a, b in pairs) / len(pairs)
    overlap = statistics.fmean(len(set(a) & set(b)) / min(k, max(len(a), len(b))) for a, b in pairs)
    return {"compared": len(pairs), "top1": top1, "overlap_at_k": overlap}


def bench_size(size: int, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from agentgym.envs.search.questions import generate_questions
    from agentgym.envs.search.world import World
    started = time.perf_counter()
    corpus = open_corpus({"size": size, "seed": args.seed, "cache_dir": str(args.cache_dir)})
    corpus_s = time.perf_counter() - started
    questions = generate_questions(World(size, args.seed), args.queries, seed=1)
    queries = [q.question for q in questions]
    queries_file = work / f"queries-{size}.json"
    queries_file.write_text(json.dumps(queries))
    base = {"size": size, "seed": args.seed, "cache_dir": str(args.cache_dir), "k": args.k,
            "queries_file": str(queries_file)}
    out: dict[str, Any] = {"documents": size, "queries": len(queries),
                           "query_kinds": dict(sorted(
                               {kind: sum(q.kind == kind for q in questions)
                                for kind in {q.kind for q in questions}}.items())),
                           "corpus_ready_s": corpus_s, "corpus_bytes": tree_bytes(corpus.path)}
    limit = args.worker_timeout
    ours_index = work / f"ours-{size}"
    print(f"[{size}] ours: build", file=sys.stderr, flush=True)
    ours = {"build": run_worker("ours_build", {**base, "index": str(ours_index)}, limit)}
    print(f"[{size}] ours: serve", file=sys.stderr, flush=True)
    ours["serve"] = run_worker("ours_serve", {**base, "index": str(ours_index),
                                              "ranks_file": str(work / f"ranks-ours-{size}.json")},
                               limit)
    out["ours"] = ours
    ranks_ours = json.loads((work / f"ranks-ours-{size}.json").read_text())
    if size <= args.rank_bm25_max_docs:
        print(f"[{size}] rank-bm25", file=sys.stderr, flush=True)
        rank = run_worker("rank_bm25", {**base, "max_queries": args.rank_bm25_queries,
                                        "seconds": args.rank_bm25_seconds,
                                        "ranks_file": str(work / f"ranks-rank-{size}.json")}, limit)
        rank["agreement_with_ours"] = agreement(
            ranks_ours, json.loads((work / f"ranks-rank-{size}.json").read_text()), args.k)
        rank["ours_qps_ratio"] = ours["serve"]["search"]["qps"] / rank["search"]["qps"]
        rank["ours_ranking_only_qps_ratio"] = (ours["serve"]["ranking_only"]["qps"]
                                               / rank["search"]["qps"])
        out["rank_bm25"] = rank
    else:
        out["rank_bm25"] = {"skipped": f"above --rank-bm25-max-docs {args.rank_bm25_max_docs}"}
    if size <= args.fts5_max_docs:
        fts_index = work / f"fts5-{size}.sqlite"
        print(f"[{size}] fts5: build", file=sys.stderr, flush=True)
        fts = {"build": run_worker("fts5_build", {**base, "index": str(fts_index)}, limit)}
        print(f"[{size}] fts5: serve", file=sys.stderr, flush=True)
        fts["serve"] = run_worker("fts5_serve", {**base, "index": str(fts_index),
                                                 "seconds": args.fts5_seconds,
                                                 "ranks_file": str(work / f"ranks-fts5-{size}.json")},
                                  limit)
        fts["agreement_with_ours"] = agreement(
            ranks_ours, json.loads((work / f"ranks-fts5-{size}.json").read_text()), args.k)
        fts["ours_qps_ratio"] = ours["serve"]["search"]["qps"] / fts["serve"]["search"]["qps"]
        if not args.keep_indexes:
            fts_index.unlink(missing_ok=True)
        out["fts5"] = fts
    else:
        out["fts5"] = {"skipped": f"above --fts5-max-docs {args.fts5_max_docs}"}
    if not args.keep_indexes:
        shutil.rmtree(ours_index, ignore_errors=True)
    return out


def versions() -> dict[str, str]:
    found = {}
    for name in ("bm25s", "rank-bm25", "numpy"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "missing"
    found["sqlite"] = sqlite3.sqlite_version
    return found


def markdown(report: dict[str, Any]) -> str:
    lines = ["### Retrieval: agentgym BM25Index vs rank-bm25 vs SQLite FTS5", "",
             f"Generated encyclopedia corpus (seed {report['seed']}), {report['queries']} generated "
             f"questions as queries, top-{report['k']}; each contender in a fresh process; "
             f"{report['machine']['cpus']} CPU cores shared, load average "
             f"{report['machine']['load_average_start']} at start. Command: `{report['command']}`.",
             "", "| documents | contender | build s | on disk MB | queries/s | p50 ms | p99 ms | "
             "peak RSS MB | top-1 agreement with ours |", "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    mb = (lambda b: f"{b / 2**20:.0f}" if b else "–")
    for size, r in report["sizes"].items():
        o = r["ours"]
        lines.append(f"| {size} | ours `search` (full hits, snippets) | {o['build']['build_s']:.1f} | "
                     f"{mb(o['build']['disk_bytes'])} | {o['serve']['search']['qps']:.0f} | "
                     f"{o['serve']['search']['p50_ms']:.2f} | {o['serve']['search']['p99_ms']:.2f} | "
                     f"{o['serve']['peak_rss_mb']:.0f} | |")
        lines.append(f"| {size} | ours `search_many` (batch) | | | {o['serve']['search_many']['qps']:.0f} "
                     f"| | | | |")
        lines.append(f"| {size} | ours ranking only (`top_k`) | | | "
                     f"{o['serve']['ranking_only']['qps']:.0f} | {o['serve']['ranking_only']['p50_ms']:.2f} | "
                     f"{o['serve']['ranking_only']['p99_ms']:.2f} | | |")
        rb = r["rank_bm25"]
        if "skipped" not in rb:
            lines.append(f"| {size} | rank-bm25 BM25Okapi (in memory; {rb['search']['queries']} "
                         f"queries{', time-boxed' if rb['time_boxed'] else ''}) | {rb['build_s']:.1f} | – | "
                         f"{rb['search']['qps']:.1f} | {rb['search']['p50_ms']:.1f} | "
                         f"{rb['search']['p99_ms']:.1f} | {rb['peak_rss_mb']:.0f} | "
                         f"{100 * rb['agreement_with_ours']['top1']:.0f}% |")
        else:
            lines.append(f"| {size} | rank-bm25 | not run ({rb['skipped']}) | | | | | | |")
        f = r["fts5"]
        if "skipped" not in f:
            lines.append(f"| {size} | SQLite FTS5 `bm25()` ({f['serve']['search']['queries']} queries"
                         f"{', time-boxed' if f['serve']['time_boxed'] else ''}) | "
                         f"{f['build']['build_s']:.1f} | {mb(f['build']['disk_bytes'])} | "
                         f"{f['serve']['search']['qps']:.1f} | {f['serve']['search']['p50_ms']:.1f} | "
                         f"{f['serve']['search']['p99_ms']:.1f} | {f['serve']['peak_rss_mb']:.0f} | "
                         f"{100 * f['agreement_with_ours']['top1']:.0f}% |")
    lines += ["", "Ratios (ours `search` queries/s over the other's):", ""]
    for size, r in report["sizes"].items():
        parts = []
        if "skipped" not in r["rank_bm25"]:
            parts.append(f"rank-bm25 **{r['rank_bm25']['ours_qps_ratio']:.0f}x** "
                         f"(target ≥ {QPS_TARGET_VS_RANK_BM25:.0f}x; ranking only "
                         f"{r['rank_bm25']['ours_ranking_only_qps_ratio']:.0f}x)")
        if "skipped" not in r["fts5"]:
            parts.append(f"FTS5 **{r['fts5']['ours_qps_ratio']:.1f}x**")
        serve = r["ours"]["serve"]
        parts.append(f"load {serve['load_s']:.2f} s, first query {serve['first_query_ms']:.1f} ms, "
                     f"peak RSS {serve['peak_rss_mb']:.0f} MB (target < {RSS_TARGET_MB:.0f} MB)")
        lines.append(f"- {size} documents: " + "; ".join(parts))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=ShowDefaults)
    parser.add_argument("--sizes", type=corpus_size, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", type=Path, default=Path("/tmp/agentgym-bench-cache"))
    parser.add_argument("--work-dir", type=Path, default=None,
                        help="where indexes are built (default: <cache-dir>/bench-retrieval)")
    parser.add_argument("--rank-bm25-max-docs", type=int, default=100_000)
    parser.add_argument("--rank-bm25-queries", type=int, default=300)
    parser.add_argument("--rank-bm25-seconds", type=float, default=40.0)
    parser.add_argument("--fts5-max-docs", type=int, default=1_000_000)
    parser.add_argument("--fts5-seconds", type=float, default=40.0)
    parser.add_argument("--worker-timeout", type=float, default=900.0)
    parser.add_argument("--keep-indexes", action="store_true")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: --sizes 2000 --queries 30, short time boxes")
    parser.add_argument("--out", type=output_folder, default=Path(__file__).parent / "results")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(WORKERS[args.worker](json.loads(args.spec))))
        return 0
    raw = argv if argv is not None else sys.argv[1:]
    if args.quick:
        if "--sizes" not in raw:
            args.sizes = [2000]
        args.queries = min(args.queries, 30)
        args.rank_bm25_seconds = min(args.rank_bm25_seconds, 5.0)
        args.fts5_seconds = min(args.fts5_seconds, 5.0)
    if any(s < 1 for s in args.sizes) or args.queries < 1 or args.k < 1:
        parser.error("--sizes, --queries and --k must be positive")
    work = args.work_dir or args.cache_dir / "bench-retrieval"
    work.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "command": "python benchmarks/bench_retrieval.py " + " ".join(raw),
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "cpus": os.cpu_count(), "load_average_start": [round(x, 2) for x in os.getloadavg()]},
        "versions": versions(), "seed": args.seed, "queries": args.queries, "k": args.k,
        "targets": {"qps_vs_rank_bm25": QPS_TARGET_VS_RANK_BM25, "serve_rss_mb": RSS_TARGET_MB},
        "sizes": {}}
    started = time.perf_counter()
    for size in args.sizes:
        report["sizes"][str(size)] = bench_size(size, args, work)
    report["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    report["total_s"] = time.perf_counter() - started
    args.out.mkdir(parents=True, exist_ok=True)
    name = "bench_retrieval_quick" if args.quick else "bench_retrieval"
    (args.out / f"{name}.json").write_text(json.dumps(report, indent=2))
    table = markdown(report)
    (args.out / f"{name}.md").write_text(table)
    print(table)
    print(f"wrote {args.out / (name + '.json')} and {name}.md in {report['total_s']:.0f} s",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
