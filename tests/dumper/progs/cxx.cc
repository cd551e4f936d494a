// C++: static objects with constructors and destructors, iostreams,
// containers and exceptions across a dump.
#include <chrono>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

struct Registry {
    std::map<std::string, long> counts;
    Registry() { std::cout << "Registry constructed" << std::endl; }
    ~Registry() {
        std::cout << "Registry destroyed with " << counts.size() << " keys" << std::endl;
        for (auto &kv : counts)
            std::cout << "  " << kv.first << " = " << kv.second << std::endl;
    }
};
static Registry reg;
static std::vector<std::string> words = {"alpha", "beta", "gamma", "delta"};

int main(int argc, char **argv)
{
    int n = argc > 1 ? std::stoi(argv[1]) : 150;
    for (int i = 0; i < n; i++) {
        std::ostringstream os;
        os << words[i % words.size()] << "-" << (i % 7);
        reg.counts[os.str()] += i;
        try {
            if (i % 13 == 0)
                throw std::runtime_error("thirteen " + std::to_string(i));
        } catch (const std::exception &e) {
            std::cout << "caught " << e.what() << std::endl;
        }
        std::cout << "step " << i << " " << os.str() << std::endl;
        std::this_thread::sleep_for(std::chrono::milliseconds(8));
    }
    return 0;
}
