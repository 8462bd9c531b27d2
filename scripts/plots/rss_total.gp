# rss_total.gp: the whole server's RSS at steady state against connections (C1, C4).
# needs: series_*.dat
W = 1000; H = 700
load plotdir."/style.gpi"
set multiplot
eval panel(1, 1)
set title sprintf("Total server RSS at steady state (solid) and peak (dashed), %s", wname(mem_wait))
set logscale xy
set key off
set xrange [xmin:xmax]
set ylabel "MiB (log scale)"
set format y "%g"
L = value("labels_w".mem_wait)
C = exists("cont_w".mem_wait) ? value("cont_w".mem_wait) : ""
if (has("rss_mib", mem_wait)) {
    eval "plot ".curve("rss_mib", L, mem_wait, 1, " steady").", ".curve("rss_peak_mib", L, mem_wait, 2, " peak").ccurve("rss_mib", C, mem_wait, 1, " steady").bars("rss_mib", L, mem_wait).marks("rss_mib", L." ".C, mem_wait)
} else {
    eval nodata
}
eval legend_panel(legend_curve(labels_all, 1, " steady").", ".legend_curve(labels_all, 2, " peak").legend_ccurve(cont_all, 1, " steady").legend_marks)
unset multiplot
