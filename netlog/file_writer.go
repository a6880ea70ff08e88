package netlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
)

// FileWriter is an Observer that streams events to a file in the layout
// Chromium's FileNetLogObserver writes:
//
//	{"constants":{...},
//	"events": [
//	{event},
//	{event},
//	]
//	,"polledData": {...}}
//
// Each event is followed by ",\n" as soon as it is written, so a file cut
// off by a crash still loads: netlog-viewer cuts at the last ",\n" and closes
// the list. Events are encoded on the logging goroutine and written by a
// background goroutine that flushes whenever it runs out of work.
type FileWriter struct {
	f      *os.File
	mode   CaptureMode
	queue  chan *[]byte
	exited chan struct{}

	mu      sync.Mutex
	closed  bool
	wrote   bool // at least one event written; guarded by the writer goroutine, read after exit
	werr    error
	bufPool sync.Pool
}

// CreateFileWriter creates (truncating) path, writes the constants and
// returns a writer ready to be added to a NetLog with AddObserver(w, mode).
func CreateFileWriter(path string, mode CaptureMode) (*FileWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	constants, err := marshal(Constants(mode))
	if err != nil {
		f.Close()
		return nil, err
	}
	if _, err := fmt.Fprintf(f, "{\"constants\":%s,\n\"events\": [\n", constants); err != nil {
		f.Close()
		return nil, err
	}
	w := &FileWriter{
		f:      f,
		mode:   mode,
		queue:  make(chan *[]byte, 1024),
		exited: make(chan struct{}),
	}
	go w.run()
	return w, nil
}

// Mode is the capture mode the file was created with.
func (w *FileWriter) Mode() CaptureMode { return w.mode }

func (w *FileWriter) run() {
	defer close(w.exited)
	bw := bufio.NewWriterSize(w.f, 64<<10)
	for {
		var line *[]byte
		select {
		case l, ok := <-w.queue:
			if !ok {
				if err := bw.Flush(); err != nil && w.werr == nil {
					w.werr = err
				}
				return
			}
			line = l
		default:
			// Nothing queued: flush, so that a crash loses as little as possible.
			if err := bw.Flush(); err != nil && w.werr == nil {
				w.werr = err
			}
			l, ok := <-w.queue
			if !ok {
				return
			}
			line = l
		}
		if _, err := bw.Write(*line); err != nil && w.werr == nil {
			w.werr = err
		}
		w.wrote = true
		*line = (*line)[:0]
		w.bufPool.Put(line)
	}
}

// OnAddEntry encodes e and queues it for writing.
func (w *FileWriter) OnAddEntry(e *Entry) {
	buf, _ := w.bufPool.Get().(*[]byte)
	if buf == nil {
		buf = new([]byte)
	}
	*buf = appendEntry(*buf, e)
	*buf = append(*buf, ",\n"...)
	w.mu.Lock()
	if !w.closed {
		w.queue <- buf
	}
	w.mu.Unlock()
}

// Close finishes the file: it ends the event list, writes polledData when it
// is not nil, and closes the file. Remove the writer from its NetLog first;
// entries that arrive after Close are dropped.
func (w *FileWriter) Close(polledData Params) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	close(w.queue)
	w.mu.Unlock()
	<-w.exited
	err := w.werr
	if w.wrote && err == nil {
		// Drop the last ",\n" so the list is valid JSON.
		_, err = w.f.Seek(-2, io.SeekEnd)
		if err == nil {
			err = w.f.Truncate(mustOffset(w.f))
		}
	}
	var tail bytes.Buffer
	tail.WriteString("]")
	if polledData != nil {
		// On a marshalling error leave polledData out rather than write
		// "polledData": with no value, which would make the file invalid JSON.
		if b, merr := marshal(polledData); merr != nil {
			if err == nil {
				err = merr
			}
		} else {
			tail.WriteString(",\n\"polledData\": ")
			tail.Write(b)
			tail.WriteString("\n")
		}
	}
	tail.WriteString("}\n")
	if _, werr := w.f.Write(tail.Bytes()); werr != nil && err == nil {
		err = werr
	}
	if cerr := w.f.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return err
}

func mustOffset(f *os.File) int64 {
	off, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0
	}
	return off
}

// appendEntry encodes an entry as Chromium does:
// {"time":"<ms>","type":N,"phase":N,"source":{"id":N,"type":N,"start_time":"<ms>"},"params":{...}}
func appendEntry(buf []byte, e *Entry) []byte {
	buf = append(buf, `{"time":"`...)
	buf = strconv.AppendInt(buf, TickMillis(e.Time), 10)
	buf = append(buf, `","type":`...)
	buf = strconv.AppendInt(buf, int64(e.Type), 10)
	buf = append(buf, `,"phase":`...)
	buf = strconv.AppendInt(buf, int64(e.Phase), 10)
	buf = append(buf, `,"source":{"id":`...)
	buf = strconv.AppendUint(buf, uint64(e.Source.ID), 10)
	buf = append(buf, `,"type":`...)
	buf = strconv.AppendInt(buf, int64(e.Source.Type), 10)
	buf = append(buf, `,"start_time":"`...)
	buf = strconv.AppendInt(buf, TickMillis(e.Source.StartTime), 10)
	buf = append(buf, `"}`...)
	if len(e.Params) > 0 {
		p, err := marshal(e.Params)
		if err != nil {
			p, _ = marshal(Params{"netfetch_params_error": err.Error()})
		}
		buf = append(buf, `,"params":`...)
		buf = append(buf, p...)
	}
	return append(buf, '}')
}

func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}
