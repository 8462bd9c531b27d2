"""Verdict blocks: which designs stand on each side of a claim. The C block is the suite's
own servers; the Rust block the same claims in Rust (Tokio vs std::thread), computed by
the same rules from the same kinds of data."""

from .results import PAIRS

FILE_DEFAULT = "async-pool"  # async_server --file-io pool, its default


class Block:
    def __init__(self, key, title, tasks, threads, scale_impls, code, lean=None):
        self.key, self.title = key, title
        self.tasks = tasks        # task-side labels, in column order
        self.threads = threads    # thread-side labels, default stack first
        self.micro = PAIRS[key]   # microbenchmark kinds and mechanisms of the pair
        self.scale_impls = scale_impls  # {"task": impl, "thread": impl} of scale runs
        self.code = code          # {label: [source folders]} for C7
        self.lean = lean          # the task label C1 decides on when it ran

    def present(self, res, io="timer"):
        """(task labels, thread labels) that have runs of that kind. For file waits the
        libev server stands in its default mode (a thread pool, --file-io pool)."""
        have = set(res.labels(io))
        tasks = [FILE_DEFAULT if io == "file" and t == "async" else t for t in self.tasks]
        return [t for t in tasks if t in have], [t for t in self.threads if t in have]

    def ran(self, res):
        tasks, threads = self.present(res)
        return bool(tasks and threads)


C_BLOCK = Block("C", "the C servers: an event loop of tasks vs a thread per connection",
                tasks=["async", "uring"], threads=["thread", "thread-64k"],
                scale_impls={"task": "async", "thread": "thread"},
                code={"async": ["async_impl"], "uring": ["uring_impl"],
                      "thread": ["thread_impl"], "common": ["common"]},
                lean="async-lean")
RUST_BLOCK = Block("Rust", "the same claims in Rust: Tokio vs std::thread",
                   tasks=["tokio-multi", "tokio-current"], threads=["rust-threads"],
                   scale_impls={"task": "tokio-multi", "thread": "rust-threads"},
                   code={"tokio-multi": ["contestants/rust/tokio_server/src"],
                         "tokio-current": ["contestants/rust/tokio_server/src"],
                         "rust-threads": ["contestants/rust/rust_thread_server/src"],
                         "common": ["contestants/rust/proto/src"]})
BLOCKS = [C_BLOCK, RUST_BLOCK]
