# mem_per_conn.gp: server memory per connection, RSS and VSZ, log-log (claim C1).
# needs: series_*.dat
W = 1000; H = 700
load plotdir."/style.gpi"
set multiplot
eval panel(1, 1)
set title sprintf("Server memory per connection: (steady - idle) / N, %s", wname(mem_wait))
set logscale xy
set key off
set xrange [xmin:xmax]
set ylabel "KiB per connection (log scale)"
set format y "%g"
# the explanation's figure, for scale
set arrow 1 from graph 0, first 1024 to graph 1, first 1024 nohead dt 3 lw 1.5 lc rgb "#555555"
set label 1 "\"about 1 MB\" per thread (the claim)" at graph 0.02, first 1024 offset 0, 0.7 tc rgb "#555555"
L = value("labels_w".mem_wait)
C = exists("cont_w".mem_wait) ? value("cont_w".mem_wait) : ""
if (has("rss_pc_kib", mem_wait)) {
    eval "plot ".curve("rss_pc_kib", L, mem_wait, 1, " RSS").", ".curve("vsz_pc_kib", L, mem_wait, 2, " VSZ").ccurve("rss_pc_kib", C, mem_wait, 1, " RSS").bars("rss_pc_kib", L, mem_wait).marks("rss_pc_kib", L." ".C, mem_wait)
} else {
    eval nodata
}
eval legend_panel(legend_curve(labels_all, 1, " RSS").", ".legend_curve(labels_all, 2, " VSZ").legend_ccurve(cont_all, 1, " RSS").legend_marks)
unset multiplot
