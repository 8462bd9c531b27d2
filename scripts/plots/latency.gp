# latency.gp: median and p99 latency against connections, one panel per wait.
# needs: series_*.dat
W = 470 * nwaits + 60; H = 620
load plotdir."/style.gpi"
set multiplot title "Latency vs connections: p50 (solid), p99 (dashed); closed loop" font ",14"
set logscale xy
set key off
set xrange [xmin:xmax]
set ylabel "latency, ms (log scale)"
set format y "%g"
i = 0
do for [w in waits] {
    i = i + 1
    set title wname(w)
    eval panel(i, nwaits)
    L = value("labels_w".w)
    C = exists("cont_w".w) ? value("cont_w".w) : ""
    if (has("p50_ms", w)) {
        eval "plot ".curve("p50_ms", L, w, 1, " p50").", ".curve("p99_ms", L, w, 2, " p99").ccurve("p50_ms", C, w, 1, " p50").ccurve("p99_ms", C, w, 2, " p99").bars("p99_ms", L, w).marks("p99_ms", L." ".C, w)
    } else {
        eval nodata
    }
}
eval legend_panel(legend_curve(labels_all, 1, " p50").", ".legend_curve(labels_all, 2, " p99").legend_ccurve(cont_all, 1, " p50").legend_ccurve(cont_all, 2, " p99").legend_marks)
unset multiplot
