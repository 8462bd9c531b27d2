module tvt/contestants/go

go 1.19
