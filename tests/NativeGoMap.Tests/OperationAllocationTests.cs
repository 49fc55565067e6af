using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>
    /// Silent to the GC (the mission's third promise): once a map exists, its lookups, inserts
    /// (growth from a trimmed map included), updates, ref accessors, removes, Clear and
    /// TrimExcess allocate nothing on the GC heap, in both concurrency modes, for inline and
    /// indirect layouts and with a comparer. The quick comparison does not measure allocations;
    /// this is where the README's "0 bytes per operation" is checked (found missing by a review
    /// of the verifiers, 2026-12-05).
    /// </summary>
    public class OperationAllocationTests
    {
        /// <summary>Every single-key operation over a map grown from its trimmed size to <paramref name="n"/> entries and back; returns a checksum.</summary>
        private static long EveryOperation<TValue>(GoMap<long, TValue> map, int n, Func<long, TValue> value, Func<TValue, long> read)
            where TValue : unmanaged
        {
            long sum = 0;
            for (long k = 0; k < n; k++)
            {
                map[k] = value(k); // growths from the trimmed array
            }

            for (long k = 0; k < n; k++)
            {
                sum += map.TryGetValue(k, out TValue v) ? read(v) : 0;
                sum += map.TryGetValue(-1 - k, out _) ? 1 : 0; // misses
                sum += map.ContainsKey(k) ? 1 : 0;
                map[k] = value(k + 1); // updates
            }

            for (long k = 0; k < n; k += 7)
            {
                ref TValue slot = ref map.GetValueRefOrNullRef(k);
                sum += Unsafe.IsNullRef(ref slot) ? 0 : read(slot);
                ref TValue added = ref map.GetValueRefOrAddDefault(n + k, out bool existed);
                added = value(k);
                sum += existed ? 1 : 0;
                sum += map.TryAdd(k, value(k)) ? 1 : 0;
            }

            for (long k = 0; k < n; k += 2)
            {
                sum += map.Remove(k) ? 1 : 0;
                sum += map.Remove(k + 1, out TValue removed) ? read(removed) : 0;
            }

            map.Clear();
            map.TrimExcess(); // back to a small array: the next run grows again
            while (!map.TrimExcess())
            {
            }

            return sum + 1;
        }

        [Theory]
        [InlineData(ConcurrencyChecks.Go, false)]
        [InlineData(ConcurrencyChecks.Strict, false)]
        [InlineData(ConcurrencyChecks.Go, true)]
        [InlineData(ConcurrencyChecks.Strict, true)]
        public void EveryOperation_AllocatesNothing_LongLong(ConcurrencyChecks checks, bool withComparer)
        {
            using var map = withComparer
                ? new GoMap<long, long>(new GoMapOptions { Seed = 1, ConcurrencyChecks = checks }, new LongModuloComparer(1 << 20))
                : new GoMap<long, long>(new GoMapOptions { Seed = 1, ConcurrencyChecks = checks });
            Assert.Equal(0, IterationHelpers.AllocatedBy(() => EveryOperation(map, 5_000, k => k, v => v)));
        }

        [Theory]
        [InlineData(ConcurrencyChecks.Go)]
        [InlineData(ConcurrencyChecks.Strict)]
        public void EveryOperation_AllocatesNothing_IndirectValues(ConcurrencyChecks checks)
        {
            using var map = new GoMap<long, Value200>(new GoMapOptions { Seed = 2, ConcurrencyChecks = checks });
            Assert.Equal(0, IterationHelpers.AllocatedBy(() => EveryOperation(map, 2_000, k => Value200.Of(k), v => v.V)));
        }
    }
}
