# micro_switch.gp: microbenchmark ns per switch by mechanism (C2), baseline subtracted.
# needs: micro_switch.dat
W = 1000; H = 170 + 34 * micro_switch_n
load plotdir."/style.gpi"
# long bar labels push the plot area right: the subtitle goes on the whole image's centre
set title "Microbenchmark: ns per switch, baseline subtracted" offset -12, 1.6
set tmargin 5
set label 90 "{/*0.85 blue: tasks (a libev loop, Tokio); red: threads (pthreads, std::thread); grey: perf bench sched pipe (processes)}" at screen 0.5, screen 1 - 52.0 / H center
set label 91 "{/*0.85 values below 1 ns (noise around the baseline) are drawn at 1 and labelled with their value}" at screen 0.5, screen 1 - 70.0 / H center
set logscale x
set format x "%g"
set xlabel "ns per switch (log scale)"
set yrange [-0.6:micro_switch_n - 0.4]
set ytics scale 0 font ",10"
set grid noytics
unset key
set style fill solid 0.75 border rgb "#333333"
set xrange [1:*]
ucol(u) = u == 0 ? 0x1f77b4 : u == 1 ? 0xd62728 : 0x999999
plot datadir."/micro_switch.dat" using "ns_plot":0:(1):"ns_plot":($0 - 0.32):($0 + 0.32):(ucol(column("unit"))):ytic(1) with boxxyerror lc rgb variable, \
     "" using "ns_plot":0:(sprintf("  %.0f", column("ns"))) with labels left font ",9"
