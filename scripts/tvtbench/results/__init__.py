"""Loading and indexing results: the one place that knows the keys of the files a
results folder holds (run JSON of `harness run`, sweep.json, the scale, head-of-line,
hyperfine and microbenchmark files). Everything else reads what these modules return."""

from .figures import (capacity_of, capacity_steps, failure_text, hol_labels, hol_rows, hol_values, hyperfine_rows,
                      median_of_runs, samples, scale_figures, spectrum_points)
from .micro import PAIRS, Micro
from .run import GENERATOR_BOUND, MAX_ERROR_FRACTION, Results, Run

__all__ = ["capacity_of", "capacity_steps", "failure_text", "hol_labels", "hol_rows", "hol_values", "hyperfine_rows",
           "median_of_runs", "samples", "scale_figures", "spectrum_points", "PAIRS", "Micro",
           "GENERATOR_BOUND", "MAX_ERROR_FRACTION", "Results", "Run"]
