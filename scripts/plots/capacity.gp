# capacity.gp: capacity at the latency target (highest offered rate with p99 under it)
# against connections, per design; one panel per wait (and kind). Rings: a lower bound only
# (the generator fell behind, or the target held up to the top step).
# needs: capacity_*.dat
W = 520 * capacity_n + 60; H = 620
if (W < 900) W = 900
load plotdir."/style.gpi"
set multiplot title "Capacity at the p99 target, against connections (open loop)" font ",14"
set logscale xy
set key off
set xrange [capacity_xmin:capacity_xmax]
set ylabel "capacity, requests per second (log scale)"
set format y "%.0s%c"
cp(k, l) = sprintf("%s/capacity_%s_%s.dat", datadir, k, l)
i = 0
ALL = ""
do for [k in capacity_panels] {
    i = i + 1
    set title value("capacity_title_".k)
    eval panel(i, capacity_n)
    L = value("capacity_labels_".k)
    ALL = ALL." ".L
    plot for [l in L] cp(k, l) using "conns":"capacity" with linespoints lw 2 lc rgb col(l) pt ptype(l) ps 1.6 notitle, \
         for [l in L] cp(k, l) using "conns":"capacity":"lo":"hi" with yerrorbars lw 1 lc rgb col(l) pt 0 notitle, \
         for [l in L] cp(k, l) using "conns":(column("bound") > 0 ? column("capacity") : NaN) with points pt 6 ps 2.8 lw 2 lc rgb '#9467bd' notitle
}
U = ""
do for [l in ALL] { if (strstrt(" ".U." ", " ".l." ") == 0) { U = U." ".l } }
eval legend_panel(legend_curve(U, 1, "").", NaN with points pt 6 ps 1.8 lw 2 lc rgb '#9467bd' title 'a lower bound only'")
unset multiplot
