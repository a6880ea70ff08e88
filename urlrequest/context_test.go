package urlrequest_test

import (
	"testing"

	"github.com/netfetch/netfetch/cache"
	"github.com/netfetch/netfetch/urlrequest"
)

// Requests take their transactions from the HTTP cache, which wraps the
// network layer: the seam later cache work deepens.
func TestContextTransactionsGoThroughTheCache(t *testing.T) {
	c, err := urlrequest.NewBuilder().Build()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hc, ok := c.TransactionFactory().(*cache.HttpCache)
	if !ok {
		t.Fatalf("TransactionFactory is %T, want *cache.HttpCache", c.TransactionFactory())
	}
	var tx any
	c.Loop().PostAndWait(func() { tx = hc.CreateTransaction(0) })
	if _, ok := tx.(*cache.Transaction); !ok {
		t.Fatalf("transaction is %T, want *cache.Transaction", tx)
	}
}
