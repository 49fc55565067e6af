using System;

namespace NativeGoMap.Stress
{
    internal static class Program
    {
        private static int Main(string[] args)
        {
            Console.WriteLine("no stress modes yet: " + string.Join(' ', args));
            return 0;
        }
    }
}
