package tun

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/songgao/water"
)

// waterDevice is a Linux TUN device opened through songgao/water.
type waterDevice struct {
	ifce      *water.Interface
	closeOnce sync.Once
	closed    chan struct{}
}

// Open creates (or attaches to) the TUN device name. The caller sets its
// addresses, MTU and routes (pkg/netcfg).
func Open(name string) (Device, error) {
	ifce, err := water.New(water.Config{
		DeviceType:             water.TUN,
		PlatformSpecificParams: water.PlatformSpecificParams{Name: name},
	})
	if err != nil {
		return nil, fmt.Errorf("tun: open %s: %w", name, err)
	}
	return &waterDevice{ifce: ifce, closed: make(chan struct{})}, nil
}

func (d *waterDevice) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	if len(bufs) == 0 {
		return 0, nil
	}
	n, err := d.ifce.Read(bufs[0][offset:])
	if err != nil {
		return 0, d.mapErr(err)
	}
	sizes[0] = n
	return 1, nil
}

func (d *waterDevice) Write(bufs [][]byte, offset int) (int, error) {
	for i, b := range bufs {
		if _, err := d.ifce.Write(b[offset:]); err != nil {
			return i, d.mapErr(err)
		}
	}
	return len(bufs), nil
}

func (d *waterDevice) mapErr(err error) error {
	select {
	case <-d.closed:
		return ErrClosed
	default:
	}
	if errors.Is(err, os.ErrClosed) || errors.Is(err, io.EOF) {
		return ErrClosed
	}
	return fmt.Errorf("tun: %s: %w", d.ifce.Name(), err)
}

func (d *waterDevice) BatchSize() int { return 1 }
func (d *waterDevice) Name() string   { return d.ifce.Name() }

func (d *waterDevice) Close() error {
	var err error
	d.closeOnce.Do(func() {
		close(d.closed)
		err = d.ifce.Close()
	})
	return err
}
