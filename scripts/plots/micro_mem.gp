# micro_mem.gp: microbenchmark memory per waiting unit against N, log-log (C1).
# needs: micro_spawn_*.dat
W = 1000; H = 780; legend_h = 0.2
load plotdir."/style.gpi"
set multiplot
eval panel(1, 1)
set title "Microbenchmark: memory per waiting unit, (steady - baseline) / N, no sockets"
set logscale xy
set key off
set ylabel "bytes per unit (log scale)"
set format y "%.0s%cB"
set xlabel "units (log scale)"
set arrow 1 from graph 0, first 1048576 to graph 1, first 1048576 nohead dt 3 lw 1.5 lc rgb "#555555"
set label 1 "\"about 1 MB\" per thread (the claim)" at graph 0.02, first 1048576 offset 0, 0.7 tc rgb "#555555"
plot for [f in micro_spawn] datadir."/".f.".dat" using "n":"rss_pu" with linespoints lw 2 pt 7 lc rgb value("colour_".f) title value("title_".f), \
     for [f in micro_spawn] datadir."/".f.".dat" using "n":"vsz_pu" with linespoints lw 1.5 dt 2 pt 6 lc rgb value("colour_".f) notitle, \
     for [f in micro_spawn] datadir."/".f.".dat" using "n":(column("failed") > 0 ? column("rss_pu") : NaN) with points pt 2 ps 2.4 lw 3 lc rgb "black" notitle
eval legend_panel(sprintf("for [f in '%s'] NaN with linespoints lw 2 pt 7 lc rgb value('colour_'.f) title value('title_'.f).' RSS', for [f in '%s'] NaN with linespoints lw 1.5 dt 2 pt 6 lc rgb value('colour_'.f) title value('title_'.f).' VSZ', NaN with points pt 2 ps 1.6 lw 3 lc rgb 'black' title 'creation failed (the wall)'", micro_spawn, micro_spawn))
unset multiplot
