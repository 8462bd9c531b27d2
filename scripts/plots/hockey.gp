# hockey.gp: latency from the intended send time against the offered rate (open loop), one
# panel per point: p50 solid, p99 dashed, the SLO dotted; open markers where the generator
# fell behind its schedule (those steps do not count).
# needs: hockey_*.dat
W = 520 * hockey_n + 60; H = 640
if (W < 900) W = 900
load plotdir."/style.gpi"
set multiplot title "Latency against offered load\n{/*0.8 open loop, latency from the intended send time}" font ",14"
set logscale xy
set key off
set xlabel "offered requests per second (log scale)"
set ylabel "latency, ms (log scale)"
set format x "%.0s%c"
set format y "%g"
hk(k, l) = sprintf("%s/hockey_%s_%s.dat", datadir, k, l)
i = 0
ALL = ""
do for [k in hockey_panels] {
    i = i + 1
    set title value("hockey_title_".k)
    eval panel(i, hockey_n)
    L = value("hockey_labels_".k)
    ALL = ALL." ".L
    slo = value("hockey_slo_".k)
    set arrow 1 from graph 0, first slo to graph 1, first slo nohead dt 3 lw 1.5 lc rgb "#555555"
    set label 1 sprintf("p99 target %g ms", slo) at graph 0.02, first slo offset 0, 0.7 tc rgb "#555555"
    plot for [l in L] hk(k, l) using "offered":"p50_ms" with linespoints lw 2 dt 1 lc rgb col(l) pt ptype(l) ps 1.0 notitle, \
         for [l in L] hk(k, l) using "offered":"p99_ms" with linespoints lw 2 dt 2 lc rgb col(l) pt ptype(l) ps 1.0 notitle, \
         for [l in L] hk(k, l) using "offered":(column("behind") > 0 ? column("p99_ms") : NaN) with points pt 6 ps 2.6 lw 2 lc rgb '#9467bd' notitle
    unset arrow 1
    unset label 1
}
U = ""
do for [l in ALL] { if (strstrt(" ".U." ", " ".l." ") == 0) { U = U." ".l } }
eval legend_panel(legend_curve(U, 1, " p50").", ".legend_curve(U, 2, " p99").", NaN with points pt 6 ps 1.8 lw 2 lc rgb '#9467bd' title 'generator fell behind (not counted)'")
unset multiplot
