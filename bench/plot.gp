# SPDX-License-Identifier: GPL-2.0-only
# The ratios of bench/run.py: times better than C xenstored (> 1 is better),
# split-xenstored and oxenstored side by side per metric, log scale.
#   gnuplot -e "datafile='bench/results/latest.dat'; outfile='bench/results/latest.png'" bench/plot.gp
if (!exists("datafile")) datafile = 'bench/results/latest.dat'
if (!exists("outfile")) outfile = 'bench/results/latest.png'
set terminal pngcairo size 1600,900 font "DejaVu Sans,10"
set output outfile
set title "split-xenstored and oxenstored 4.17 relative to C xenstored 4.17 (> 1: better than C; medians, make bench)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y 2
set yrange [0.0625:32]
set ytics ("1/16" 0.0625, "1/8" 0.125, "1/4" 0.25, "1/2" 0.5, "1" 1, "2" 2, "4" 4, "8" 8, "16" 16, "32" 32)
set grid ytics
set ylabel "times better than C xenstored"
set xtics rotate by 50 right font ",8" nomirror
set bmargin 16
set key top left
set arrow from graph 0, first 1 to graph 1, first 1 nohead lw 2 lc rgb "black" front
plot datafile using 2:xtic(1) title "split-xenstored" lc rgb "#1f77b4", \
     '' using 3 title "oxenstored 4.17" lc rgb "#ff7f0e"
