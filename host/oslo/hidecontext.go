package oslo

import "fmt"

// HideContextKeys returns the CBOR map ctx, a request's or a
// notification's context as [DecodeRequest] and the notification decoder
// give it, without the entries whose key is in hidden. It returns ctx
// itself when no such key is there (nothing is allocated), and a new
// slice otherwise; empty ctx stays empty. Keys must be text strings, as
// every context oslo.messaging sends has.
func HideContextKeys(ctx []byte, hidden map[string]bool) ([]byte, error) {
	if len(ctx) == 0 || len(hidden) == 0 {
		return ctx, nil
	}
	w := writer{src: ctx}
	major, _, n, indef, err := w.head()
	if err != nil {
		return nil, fmt.Errorf("context: %w", err)
	}
	if major != majorMap {
		return nil, fmt.Errorf("%w: the context is not a map", ErrCBOR)
	}
	w.depth = 1
	body := w.pos // the entries start here
	type span struct{ from, to int }
	var drop []span // the entries hidden, in order
	kept := uint64(0)
	var discard []byte
	for i := uint64(0); ; i++ {
		ok, err := w.more(i, n, indef)
		if err != nil {
			return nil, fmt.Errorf("context: %w", err)
		}
		if !ok {
			break
		}
		from := w.pos
		km, _, kn, kindef, err := w.head()
		if err != nil {
			return nil, fmt.Errorf("context: %w", err)
		}
		if km != majorText {
			return nil, fmt.Errorf("%w: context key %d is not a text string", ErrCBOR, i)
		}
		k, err := w.stringBody(majorText, kn, kindef)
		if err != nil {
			return nil, fmt.Errorf("context: %w", err)
		}
		hide := hidden[string(k)]
		// The value is read only to find its end.
		if discard, err = w.item(discard[:0]); err != nil {
			return nil, fmt.Errorf("context %q: %w", k, err)
		}
		if hide {
			drop = append(drop, span{from, w.pos})
		} else {
			kept++
		}
	}
	if w.pos != len(ctx) {
		return nil, fmt.Errorf("%w: %d bytes after the context", ErrCBOR, len(ctx)-w.pos)
	}
	if len(drop) == 0 {
		return ctx, nil
	}
	// The entries end before the break of an indefinite map; the new map
	// is definite.
	end := len(ctx)
	if indef {
		end--
	}
	out := appendHead(make([]byte, 0, len(ctx)), majorMap, kept)
	at := body
	for _, d := range drop {
		out = append(out, ctx[at:d.from]...)
		at = d.to
	}
	return append(out, ctx[at:end]...), nil
}
