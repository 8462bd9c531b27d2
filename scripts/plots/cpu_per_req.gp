# cpu_per_req.gp: server CPU (user + system) per request against connections, per wait.
# needs: series_*.dat
W = 470 * nwaits + 60; H = 620
load plotdir."/style.gpi"
set multiplot title "Server CPU time (user + system) per request" font ",14"
set logscale xy
set key off
set xrange [xmin:xmax]
set ylabel "CPU µs per request (log scale)"
set format y "%g"
i = 0
do for [w in waits] {
    i = i + 1
    set title wname(w)
    eval panel(i, nwaits)
    L = value("labels_w".w)
    C = exists("cont_w".w) ? value("cont_w".w) : ""
    if (has("cpu_pr", w)) {
        eval "plot ".curve("cpu_pr", L, w, 1, "").ccurve("cpu_pr", C, w, 1, "").bars("cpu_pr", L, w).marks("cpu_pr", L." ".C, w)
    } else {
        eval nodata
    }
}
eval legend_panel(legend_curve(labels_all, 1, "").legend_ccurve(cont_all, 1, "").legend_marks)
unset multiplot
