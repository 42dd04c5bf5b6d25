package ui

import (
	"bytes"
	"encoding/binary"
	"image/png"
)

// iconBytes is the tray icon of st in the format fyne.io/systray wants on
// goos: PNG everywhere but Windows, where LoadImage needs an ICO file.
func iconBytes(st TrayState, goos string) []byte {
	b := st.Icon()
	if goos == "windows" {
		return icoFromPNG(b)
	}
	return b
}

// icoFromPNG wraps one PNG image in an ICO container (PNG-compressed ICO
// entries load on Windows Vista and later). It returns the PNG unchanged if
// it cannot be decoded.
func icoFromPNG(p []byte) []byte {
	cfg, err := png.DecodeConfig(bytes.NewReader(p))
	if err != nil || cfg.Width > 256 || cfg.Height > 256 {
		return p
	}
	dim := func(n int) byte { // 0 means 256
		if n == 256 {
			return 0
		}
		return byte(n)
	}
	var b bytes.Buffer
	le := binary.LittleEndian
	b.Write(le.AppendUint16(nil, 0)) // reserved
	b.Write(le.AppendUint16(nil, 1)) // type: icon
	b.Write(le.AppendUint16(nil, 1)) // one image
	b.Write([]byte{dim(cfg.Width), dim(cfg.Height), 0, 0})
	b.Write(le.AppendUint16(nil, 1))              // colour planes
	b.Write(le.AppendUint16(nil, 32))             // bits per pixel
	b.Write(le.AppendUint32(nil, uint32(len(p)))) // image size
	b.Write(le.AppendUint32(nil, 6+16))           // image offset
	b.Write(p)
	return b.Bytes()
}
