# tokentray — two commands for a newcomer: `make run` and `make test`.
# Every target that needs system packages depends on `deps`, which installs
# only what is missing (apt as root, sudo otherwise; prints what to install
# on macOS and Windows).

SHELL      := /bin/bash
GO         ?= go
BIN        := bin/tokentray
WINBIN     := bin/tokentray-window
PKG        := ./cmd/tokentray
WINPKG     := ./cmd/tokentray-window
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS    := -X main.version=$(VERSION)
export LANG := C.UTF-8
export LC_ALL := C.UTF-8
# Same build flags everywhere: a different flag set pays the cold cgo build again.
GOFLAGS_BUILD :=
FUZZTIME   ?= 1000x

APT_PKGS := gcc libc6-dev pkg-config libgl1-mesa-dev libx11-dev libxcursor-dev \
  libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev xvfb xauth \
  libgl1-mesa-dri dbus gnome-keyring libsecret-tools x11-utils xdotool \
  imagemagick gcc-mingw-w64-x86-64 wine64 wine git \
  dovecot-imapd dovecot-submissiond dovecot-lmtpd msmtp isync libsasl2-modules-kdexoauth2

.PHONY: all deps build run demo test unit race integration gui fuzz layout vet \
  bench soak lint cross package clean

all: build

deps:
	@scripts=.ci/deps.sh; bash $$scripts $(APT_PKGS)

# The keeper and CLI (no GUI toolkit) and the window program beside it.
build: deps
	$(GO) build $(GOFLAGS_BUILD) -ldflags '$(LDFLAGS)' -o $(BIN) $(PKG)
	$(GO) build $(GOFLAGS_BUILD) -ldflags '$(LDFLAGS)' -o $(WINBIN) $(WINPKG)

# Starts the keeper with its tray icon; it opens the window. With no account
# configured the window offers the built-in demo account against the local
# simulator.
run: build
	./$(BIN)

demo: build
	./$(BIN) demo

# The whole suite. Fails on any failure.
test: deps
	bash .ci/test.sh

vet:
	$(GO) vet ./...

unit:
	$(GO) test ./...

race:
	$(GO) test -race ./internal/...

layout:
	$(GO) test -run 'TestLayout' ./internal/

fuzz:
	bash .ci/fuzz.sh $(FUZZTIME)

bench: deps
	bash .ci/bench.sh

# Long reliability run: fault matrix, kill -9 crash safety, fuzz 10 min per target.
soak: deps
	bash .ci/soak.sh

lint:
	@command -v golangci-lint >/dev/null || $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0
	"$$($(GO) env GOPATH)/bin/golangci-lint" run ./...

cross: deps
	bash .ci/cross.sh

package: deps
	bash .ci/package.sh

clean:
	rm -rf bin dist artifacts
