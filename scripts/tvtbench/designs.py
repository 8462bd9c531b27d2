"""The designs a result can belong to: their labels, names, and which side of a claim they
stand on. A label is the series name the sweep gives a run (`harness run --name`)."""

# label -> (what it is, side, block). side: "task" (an event loop of tasks) or "thread"
# (a thread per connection); block: the verdict block it belongs to ("C" or "Rust"), or
# None for a runtime that is shown beside the others but decides no verdict.
DESIGNS = {
    "async": ("async (libev, one loop; a read buffer per connection)", "task", "C"),
    "async-lean": ("async, lean buffers (libev; buffers only while a request is in flight)",
                   "task", "C"),
    "uring": ("uring (io_uring, one ring: completions)", "task", "C"),
    "thread": ("thread (default stack)", "thread", "C"),
    "thread-64k": ("thread (64 KiB stack)", "thread", "C"),
    # the shared table (C7): the thread server with its mutex left out (lost updates)
    "thread-nolock": ("thread, the shared table unguarded (--lock none)", "thread", "C"),
    # io=file: the libev server's three ways of reading a file
    "async-loop": ("async, file reads in the loop (pread blocks every task)", "task", "C"),
    "async-pool": ("async, file reads in a thread pool (libuv's and tokio::fs's way)",
                   "task", "C"),
    "async-uring": ("async, file reads on io_uring (libev loop, ring for files)", "task", "C"),
    "tokio-current": ("Tokio, current-thread runtime", "task", "Rust"),
    "tokio-multi": ("Tokio, multi-thread runtime", "task", "Rust"),
    "rust-threads": ("Rust, a std::thread per connection", "thread", "Rust"),
    "go": ("Go, a goroutine per connection", "task", None),
    "nginx": ("nginx", "task", None),
}

# The suite's own C servers: the grid runs them; everything else is a contestant.
C_LABELS = tuple(k for k, (_, _, b) in DESIGNS.items() if b == "C")
CONTESTANTS = tuple(k for k, (_, _, b) in DESIGNS.items() if b != "C")
# The file-mode series of the libev server, by --file-io value.
FILE_MODES = {"loop": "async-loop", "pool": "async-pool", "uring": "async-uring"}


def name(label):
    return DESIGNS.get(label, (label,))[0]


def side(label):
    d = DESIGNS.get(label)
    return d[1] if d else None


def order(labels):
    """Labels in table order: the registry's order, unknown ones last."""
    known = list(DESIGNS)
    return sorted(labels, key=lambda x: (known.index(x) if x in known else len(known), x))


def column(label):
    """The verdict table's column a design shows in: the libev server's variants (lean
    buffers, its three file modes) in the async column."""
    return "async" if label.startswith("async") else label
