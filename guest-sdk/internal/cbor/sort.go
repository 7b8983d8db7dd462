package cbor

// SortBy sorts n elements, given their order and a way to swap two: an
// insertion sort for a few, a heapsort beyond. One small function for
// every kind of slice the SDK sorts, where the generic sorts of package
// slices would add several kilobytes of code per element type to every
// module.
func SortBy(n int, less func(i, j int) bool, swap func(i, j int)) {
	if n <= 12 {
		for i := 1; i < n; i++ {
			for j := i; j > 0 && less(j, j-1); j-- {
				swap(j, j-1)
			}
		}
		return
	}
	down := func(root, n int) {
		for {
			child := 2*root + 1
			if child >= n {
				return
			}
			if child+1 < n && less(child, child+1) {
				child++
			}
			if !less(root, child) {
				return
			}
			swap(root, child)
			root = child
		}
	}
	for i := n/2 - 1; i >= 0; i-- {
		down(i, n)
	}
	for i := n - 1; i > 0; i-- {
		swap(0, i)
		down(0, i)
	}
}
