// {{name}}: a Rigor scenario in Go. `rigor build` compiles this module
// with the SDK and the contract's bindings; the lines below only let an
// editor and `go doc` find the SDK.
module scenario

go 1.25

require rigor v0.0.0

replace rigor => {{sdk_path}}
