module scenario

go 1.25

require rigor v0.0.0

// For editors and `go doc`; `rigor build` supplies the SDK itself.
replace rigor => ../../guest-sdk/go
