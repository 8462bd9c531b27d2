# hyperfine.gp: whole-command wall times from hyperfine: mean, bars min..max.
# needs: hyperfine.dat
W = 1000; H = 160 + 46 * hf_n
load plotdir."/style.gpi"
set title "hyperfine: wall time per command (mean; whisker: min..max)\n{/*0.85 blue: async / tasks, red: threads}"
set logscale x
set xrange [hf_xmin:*]
set format x "%g"
set xlabel "seconds (log scale)"
set yrange [-0.6:hf_n - 0.4]
set ytics scale 0
set grid noytics
unset key
set style fill solid 0.7 border rgb "#333333"
plot datadir."/hyperfine.dat" using "mean_s":0:(hf_xmin):"mean_s":($0 - 0.32):($0 + 0.32):(column("thread") > 0 ? 0xe6908f : 0x8fb8de):ytic(1) with boxxyerror lc rgb variable, \
     "" using "mean_s":0:"min_s":"max_s" with xerrorbars pt 7 ps 0.8 lc rgb "black", \
     "" using "mean_s":0:(column("mean_s") < 1 ? sprintf("  %.1f ms", 1000 * column("mean_s")) : sprintf("  %.2f s", column("mean_s"))) with labels left offset 1.2, 0.55 font ",9"
