# throughput.gp: requests per second against connections, one panel per wait.
# needs: series_*.dat
W = 470 * nwaits + 60; H = 620
load plotdir."/style.gpi"
set multiplot title "Throughput vs connections (closed loop, ".server_cpus_text.")" font ",14"
set logscale xy
set key off
set xrange [xmin:xmax]
set ylabel "requests per second (log scale)"
set format y "%.0s%c"
i = 0
do for [w in waits] {
    i = i + 1
    set title wname(w)
    eval panel(i, nwaits)
    L = value("labels_w".w)
    C = exists("cont_w".w) ? value("cont_w".w) : ""
    if (has("rps", w)) {
        eval "plot ".curve("rps", L, w, 1, "").ccurve("rps", C, w, 1, "").bars("rps", L, w).marks("rps", L." ".C, w)
    } else {
        eval nodata
    }
}
eval legend_panel(legend_curve(labels_all, 1, "").legend_ccurve(cont_all, 1, "").legend_marks)
unset multiplot
