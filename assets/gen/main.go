//go:build ignore

// Command gen draws the tray icons in assets/ (run from assets/: go run gen/main.go).
// Each icon is a coloured disc with a white glyph, 64×64, anti-aliased by
// 4×4 supersampling.
package main

import (
	"image"
	"image/color"
	"image/png"
	"log"
	"math"
	"os"
)

const size = 64

// shape reports whether the point (x, y) in [0,64)² is covered.
type shape func(x, y float64) bool

func disc(cx, cy, r float64) shape {
	return func(x, y float64) bool { return math.Hypot(x-cx, y-cy) <= r }
}

func ring(cx, cy, r, w float64, gapFrom, gapTo float64) shape {
	return func(x, y float64) bool {
		d := math.Hypot(x-cx, y-cy)
		if d < r-w/2 || d > r+w/2 {
			return false
		}
		a := math.Atan2(y-cy, x-cx) * 180 / math.Pi
		if a < 0 {
			a += 360
		}
		return a < gapFrom || a > gapTo
	}
}

func segment(x1, y1, x2, y2, w float64) shape {
	return func(x, y float64) bool {
		dx, dy := x2-x1, y2-y1
		t := ((x-x1)*dx + (y-y1)*dy) / (dx*dx + dy*dy)
		t = math.Max(0, math.Min(1, t))
		return math.Hypot(x-(x1+t*dx), y-(y1+t*dy)) <= w/2
	}
}

func rect(x1, y1, x2, y2 float64) shape {
	return func(x, y float64) bool { return x >= x1 && x <= x2 && y >= y1 && y <= y2 }
}

func triangle(ax, ay, bx, by, cx, cy float64) shape {
	return func(x, y float64) bool {
		s := func(px, py, qx, qy float64) float64 { return (x-qx)*(py-qy) - (px-qx)*(y-qy) }
		d1, d2, d3 := s(ax, ay, bx, by), s(bx, by, cx, cy), s(cx, cy, ax, ay)
		neg := d1 < 0 || d2 < 0 || d3 < 0
		pos := d1 > 0 || d2 > 0 || d3 > 0
		return !(neg && pos)
	}
}

func any(ss ...shape) shape {
	return func(x, y float64) bool {
		for _, s := range ss {
			if s(x, y) {
				return true
			}
		}
		return false
	}
}

type layer struct {
	s shape
	c color.NRGBA
}

func draw(path string, layers ...layer) { drawAt(path, size, layers...) }

// drawAt renders the 64×64 design at n×n pixels.
func drawAt(path string, n int, layers ...layer) {
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	const ss = 4
	k := float64(size) / float64(n)
	for py := 0; py < n; py++ {
		for px := 0; px < n; px++ {
			var r, g, b, a float64
			for sy := 0; sy < ss; sy++ {
				for sx := 0; sx < ss; sx++ {
					x := (float64(px) + (float64(sx)+0.5)/ss) * k
					y := (float64(py) + (float64(sy)+0.5)/ss) * k
					var c color.NRGBA
					for _, l := range layers {
						if l.s(x, y) {
							c = l.c
						}
					}
					fa := float64(c.A) / 255
					r += float64(c.R) * fa
					g += float64(c.G) * fa
					b += float64(c.B) * fa
					a += fa
				}
			}
			if a == 0 {
				continue
			}
			img.SetNRGBA(px, py, color.NRGBA{
				R: uint8(r / a), G: uint8(g / a), B: uint8(b / a),
				A: uint8(math.Round(a / (ss * ss) * 255)),
			})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(f, img); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}

func main() {
	white := color.NRGBA{255, 255, 255, 255}
	base := disc(32, 32, 30)
	draw("tray-ok.png",
		layer{base, color.NRGBA{0x2e, 0x7d, 0x32, 255}},
		layer{any(segment(18, 33, 28, 43, 7), segment(28, 43, 46, 22, 7)), white})
	draw("tray-refreshing.png",
		layer{base, color.NRGBA{0x15, 0x65, 0xc0, 255}},
		layer{any(ring(32, 32, 15, 6, 300, 345), triangle(40, 14, 52, 20, 42, 27)), white})
	draw("tray-warning.png",
		layer{base, color.NRGBA{0xef, 0x8f, 0x00, 255}},
		layer{any(segment(32, 15, 32, 36, 8), disc(32, 47, 4.5)), white})
	draw("tray-signin.png",
		layer{base, color.NRGBA{0xc6, 0x28, 0x28, 255}},
		layer{any(ring(32, 26, 9, 5, 360, 360), rect(20, 30, 44, 48)), white},
		layer{disc(32, 38, 3), color.NRGBA{0xc6, 0x28, 0x28, 255}})
	// The application icon (desktop entry, packages, window): the refresh
	// ring around a check, 256×256.
	drawAt("icon.png", 256,
		layer{base, color.NRGBA{0x15, 0x65, 0xc0, 255}},
		layer{any(ring(32, 32, 19, 5, 300, 345), triangle(43, 10, 56, 17, 45, 25), segment(23, 33, 30, 40, 5), segment(30, 40, 42, 26, 5)), white})
}
