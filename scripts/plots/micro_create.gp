# micro_create.gp: microbenchmark creation (and teardown) time per unit against N (C5).
# needs: micro_spawn_*.dat
W = 1000; H = 700
load plotdir."/style.gpi"
set multiplot
eval panel(1, 1)
set title "Microbenchmark: time per unit to create (solid) and to tear down (dashed)"
set logscale xy
set key off
set ylabel "ns per unit (log scale)"
set format y "%g"
set xlabel "units (log scale)"
plot for [f in micro_spawn] datadir."/".f.".dat" using "n":"create_ns_pu" with linespoints lw 2 pt 7 lc rgb value("colour_".f) title value("title_".f), \
     for [f in micro_spawn] datadir."/".f.".dat" using "n":"teardown_ns_pu" with linespoints lw 1.5 dt 2 pt 6 lc rgb value("colour_".f) notitle
eval legend_panel(sprintf("for [f in '%s'] NaN with linespoints lw 2 pt 7 lc rgb value('colour_'.f) title value('title_'.f)", micro_spawn))
unset multiplot
