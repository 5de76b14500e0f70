module rigor

go 1.25
