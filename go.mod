module github.com/netfetch/netfetch

go 1.26
