# ctx_per_req.gp: server context switches per request against connections, per wait.
# needs: series_*.dat
W = 470 * nwaits + 60; H = 620
load plotdir."/style.gpi"
set multiplot title "Server context switches (voluntary + involuntary) per request" font ",14"
set logscale xy
set key off
set xrange [xmin:xmax]
set ylabel "switches per request (log scale)"
set format y "%g"
i = 0
do for [w in waits] {
    i = i + 1
    set title wname(w)
    eval panel(i, nwaits)
    L = value("labels_w".w)
    C = exists("cont_w".w) ? value("cont_w".w) : ""
    if (has("ctx_pr", w)) {
        eval "plot ".curve("ctx_pr", L, w, 1, "").ccurve("ctx_pr", C, w, 1, "").bars("ctx_pr", L, w).marks("ctx_pr", L." ".C, w)
    } else {
        eval nodata
    }
}
eval legend_panel(legend_curve(labels_all, 1, "").legend_ccurve(cont_all, 1, "").legend_marks)
unset multiplot
