package dumpscan

import (
	"bytes"
	"io"
)

// GuardReader reads src through a guarding Scanner (see NewGuard): what it
// returns is what a restore may run. A refused statement ends the stream
// with a *RefusedError as soon as it is seen. The Scanner tells, once the
// reader is drained, what the dump held.
func GuardReader(src io.Reader) (*Scanner, io.Reader) {
	r := &guardReader{src: src, in: make([]byte, 256<<10)}
	r.scan = NewGuard(&r.buf)
	return r.scan, r
}

type guardReader struct {
	src  io.Reader
	scan *Scanner
	in   []byte
	buf  bytes.Buffer
	err  error // the error to return once buf is drained
}

func (r *guardReader) Read(p []byte) (int, error) {
	for r.buf.Len() == 0 && r.err == nil {
		n, err := r.src.Read(r.in)
		if n > 0 {
			if _, werr := r.scan.Write(r.in[:n]); werr != nil {
				r.err = werr
				r.buf.Reset() // refused: nothing more reaches the server
				return 0, werr
			}
		}
		switch {
		case err == io.EOF:
			if r.err = r.scan.Close(); r.err == nil {
				r.err = io.EOF
			}
		case err != nil:
			r.err = err
		}
	}
	if r.buf.Len() > 0 {
		return r.buf.Read(p)
	}
	return 0, r.err
}
