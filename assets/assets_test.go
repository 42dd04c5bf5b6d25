package assets

import (
	"bytes"
	"image/png"
	"testing"
)

func TestTrayIcons(t *testing.T) {
	for name, data := range map[string][]byte{
		"ok": TrayOK, "refreshing": TrayRefreshing, "warning": TrayWarning, "signin": TraySignIn,
	} {
		t.Run(name, func(t *testing.T) {
			if len(data) == 0 || len(data) >= 4096 {
				t.Fatalf("icon is %d bytes; want 1–4095", len(data))
			}
			img, err := png.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("png.Decode = %v", err)
			}
			if b := img.Bounds(); b.Dx() != 64 || b.Dy() != 64 {
				t.Errorf("icon is %v; want 64×64", b.Size())
			}
		})
	}
}
