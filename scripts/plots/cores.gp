# cores.gp: the server on K CPUs (async and uring: K loops; thread: threads free over K;
# Tokio: K workers; Go: GOMAXPROCS=K; nginx: K workers): req/s, CPU per request and the
# parallel efficiency, req/s at K / (K x req/s at 1), against K.
# needs: cores_*.dat
W = 1400; H = 620
load plotdir."/style.gpi"
set multiplot title "Scaling over the server's CPUs, ".cores_desc font ",14"
set key off
set xlabel "server CPUs K"
set xrange [0.8:cores_kmax * 1.25]
set logscale x 2
set xtics 2
cf(l) = sprintf("%s/cores_%s.dat", datadir, l)
set title "requests per second"
eval panel(1, 3)
set format y "%.0s%c"
plot for [l in cores_labels] cf(l) using "k":"rps" with linespoints lw 2 lc rgb col(l) pt ptype(l) ps 1.4 notitle
set title "server CPU µs per request"
eval panel(2, 3)
set format y "%g"
plot for [l in cores_labels] cf(l) using "k":"cpu_pr" with linespoints lw 2 lc rgb col(l) pt ptype(l) ps 1.4 notitle
set title "parallel efficiency (1 = linear)"
eval panel(3, 3)
set yrange [0:1.2]
plot for [l in cores_labels] cf(l) using "k":"efficiency" with linespoints lw 2 lc rgb col(l) pt ptype(l) ps 1.4 notitle, 1 with lines dt 3 lc rgb "#555555" notitle
eval legend_panel(legend_curve(cores_labels, 1, ""))
unset multiplot
