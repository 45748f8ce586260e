/* Downstream smoke test: the umbrella header compiles and a primitive works. */
#include <weft/weft.h>

static weft_mutex lock;

int main(void)
{
	weft_mutex_lock(&lock);
	weft_mutex_unlock(&lock);
	return weft_mutex_trylock(&lock) ? 0 : 1;
}
